package dev.apfsim.trace;

import dev.apfsim.trace.TraceEvent.*;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TraceFilterTest {
    /** Two vCPUs; oltp-0 and scan-0 on CPU 0, oltp-1 on CPU 1. */
    static final List<TraceFilter.TaskRef> TASKS = List.of(new TraceFilter.TaskRef("oltp-0", 0),
            new TraceFilter.TaskRef("scan-0", 0), new TraceFilter.TaskRef("oltp-1", 1));

    /**
     * oltp-0 faults on vCPU 0 (token 0x1000, gfn 5) and sleeps; scan-0 runs meanwhile and faults too (token 0x2000,
     * gfn 6); the page of oltp-0 arrives while scan-0 runs; oltp-1 runs on vCPU 1; a VM-wide violation.
     */
    static final List<TraceEvent> RUN = List.of(
            new GuestSwitch(100, 0, -1, 0),                    // 0 oltp-0 runs
            new TryAsyncGetPage(200, 0, 0x5000, 5),            // 1
            new NotPresent(200, 0, 0x1000, 0x5000),            // 2
            new PageIo(210, -1, 5, false, false),              // 3
            new GuestApfWait(300, 0, 0, 0x1000, false),        // 4
            new GuestSwitch(300, 0, 0, 1),                     // 5 scan-0 runs
            new TryAsyncGetPage(400, 0, 0x6000, 6),            // 6
            new NotPresent(400, 0, 0x2000, 0x6000),            // 7
            new PageIo(410, -1, 6, false, false),              // 8
            new GuestSwitch(450, 1, -1, 2),                    // 9 oltp-1 on vCPU 1
            new Msr(460, 1, true, 0x4b564d02, 0x1000, false),  // 10 oltp-1's own MSR write
            new PageIo(900, -1, 5, true, false),               // 11
            new Completed(1_000, 0, 0x7f0000005000L, 0x5000, 0, 0),  // 12 oltp-0's page
            new Ready(1_100, 0, 0x1000, 0x5000),               // 13 ... delivered while scan-0 runs
            new ApicAcceptIrq(1_100, 0, 0, 243),               // 14 its interrupt
            new GuestApfWake(1_150, 0, 0, 0x1000),             // 15
            new Msr(1_160, 0, true, 0x4b564d07, 1, false),     // 16 its ACK
            new Msr(1_170, 0, true, 0x4b564d06, 243, false),   // 17 scan-0's own
            new Violation(1_200, -1, "token-unique", "x"),     // 18 VM-wide
            new Completed(1_300, 0, 0x7f0000006000L, 0x6000, 0, 0)); // 19 scan-0's page

    static List<Integer> kept(TraceFilter.Selection s) {
        TraceFilter f = s.filter(2, TASKS);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < RUN.size(); i++) {
            if (f.keep(RUN.get(i))) {
                out.add(i);
            }
        }
        return out;
    }

    @Test
    void aTaskKeepsItsWholeRoundTripEvenWhileAnotherTaskRuns() {
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 18),
                kept(TraceFilter.Selection.ALL.withTasks(List.of("oltp*"))));
        assertEquals(List.of(5, 6, 7, 8, 17, 18, 19), kept(TraceFilter.Selection.ALL.withTasks(List.of("scan-?"))));
    }

    @Test
    void aVcpuKeepsItsEventsAndTheDeviceReadsItsFaultsStarted() {
        assertEquals(List.of(9, 10, 18), kept(TraceFilter.Selection.ALL.withVcpus(List.of(1))));
        List<Integer> cpu0 = kept(TraceFilter.Selection.ALL.withVcpus(List.of(0)));
        assertTrue(cpu0.containsAll(List.of(3, 8, 11)), "device reads for vCPU 0's faults: " + cpu0);
        assertFalse(cpu0.contains(9) || cpu0.contains(10));
    }

    @Test
    void bothCriteriaMustHold() {
        assertEquals(List.of(9, 10, 18),
                kept(TraceFilter.Selection.ALL.withTasks(List.of("oltp*")).withVcpus(List.of(1))));
    }

    @Test
    void theWindowIsHalfOpen() {
        assertEquals(List.of(6, 7, 8, 9, 10), kept(TraceFilter.Selection.ALL.withWindow(400, 900)));
        assertEquals(List.of(11, 12), kept(TraceFilter.Selection.ALL.withWindow(900, 1_100)), "device reads too");
        assertEquals(List.of(11, 12), kept(TraceFilter.Selection.ALL.withWindow(900, 1_100).withTasks(List.of("oltp-0"))));
    }

    @Test
    void keepingEverythingCostsNothing() {
        TraceFilter f = TraceFilter.Selection.ALL.filter(2, TASKS);
        assertTrue(f.keepsAll());
        TraceSink sink = TraceSink.everything(e -> { });
        assertSame(sink, f.wrap(sink));
        assertThrows(IllegalArgumentException.class, () -> TraceFilter.Selection.ALL.withWindow(5, 5));
    }

    @Test
    void aWrappedSinkSeesOnlyWhatIsKept() {
        List<TraceEvent> seen = new ArrayList<>();
        TraceSink sink = TraceFilter.Selection.ALL.withVcpus(List.of(1)).filter(2, TASKS)
                .wrap(TraceSink.everything(seen::add));
        RUN.forEach(sink::accept);
        assertEquals(List.of(RUN.get(9), RUN.get(10), RUN.get(18)), seen);
        assertTrue(sink.wantsTimeline());
    }
}
