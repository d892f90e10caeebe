package dev.apfsim.realkvm.events;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class FtraceLineTest {
    @Test
    void kernelTraceFormatWithFlagsColumn() {
        FtraceLine l = FtraceLine.parse(
                "       CPU 0/KVM-9192    [000] .....  4302.544411: kvm_async_pf_not_present: token 0x1000 gva 0x200000");
        assertNotNull(l);
        assertEquals("CPU 0/KVM", l.comm());
        assertEquals(9192, l.pid());
        assertEquals(0, l.cpu());
        assertEquals(4302_544411_000L, l.timeNs());
        assertEquals("kvm_async_pf_not_present", l.name());
        assertEquals("token 0x1000 gva 0x200000", l.fields());
    }

    @Test
    void kworkerCommWithDashesAndOtherFlags() {
        FtraceLine l = FtraceLine.parse(
                "  kworker/0:1-events-1231    [001] d..2.  17.000100: kvm_async_pf_completed: gva 0x200000 address 0x7f12");
        assertEquals("kworker/0:1-events", l.comm());
        assertEquals(1231, l.pid());
        assertEquals(1, l.cpu());
        assertEquals(17_000100_000L, l.timeNs());
    }

    @Test
    void traceCmdReportFormatAsTheModelPrintsIt() {
        FtraceLine l = FtraceLine.parse("CPU 1/KVM-1001 [001] 0.001234: kvm_msr: msr_write 4b564d07 = 0x1");
        assertEquals("CPU 1/KVM", l.comm());
        assertEquals(1001, l.pid());
        assertEquals(1_234_000L, l.timeNs());
        assertEquals("msr_write 4b564d07 = 0x1", l.fields());
    }

    @Test
    void tgidColumnAndNanosecondStamps() {
        FtraceLine l = FtraceLine.parse("bash-42 (   40) [003] ..... 5.123456789: kvm_eoi: apicid 0 vector -1");
        assertEquals(42, l.pid());
        assertEquals(5_123456789L, l.timeNs());
        assertEquals("kvm_eoi", l.name());
    }

    @Test
    void headersAndOtherShapesAreNotEvents() {
        assertNull(FtraceLine.parse("# tracer: nop"));
        assertNull(FtraceLine.parse("#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION"));
        assertNull(FtraceLine.parse(""));
        assertNull(FtraceLine.parse("CPU:0 [LOST 12 EVENTS]"));
    }
}
