package dev.apfsim.realkvm.guest;

import dev.apfsim.realkvm.Experiments;
import dev.apfsim.realkvm.guest.TestGuest.*;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.uffd.Backing;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GuestGeneratorTest {
    private static final TestGuest USER_FAULT = Experiments.all().get("appc-user-fault").guest();

    private static byte[] chunk(GuestImage img, long gpa) {
        return img.chunks().stream().filter(c -> c.gpa() == gpa).findFirst().orElseThrow().bytes();
    }

    private static long gate(GuestImage img, int v, int vector) {
        ByteBuffer b = ByteBuffer.wrap(chunk(img, GuestLayout.idt(v))).order(ByteOrder.LITTLE_ENDIAN);
        long lo = b.getLong(vector * 16), hi = b.getLong(vector * 16 + 8);
        assertEquals(0x8e, (lo >>> 40) & 0xff, "present DPL0 interrupt gate");
        assertEquals(GuestLayout.SEL_KERNEL_CODE, (lo >>> 16) & 0xffff);
        return (lo & 0xffff) | ((lo >>> 48) << 16) | (hi << 32);
    }

    private static int indexOf(byte[] hay, String hex, int from) {
        byte[] n = HexFormat.of().parseHex(hex.replace(" ", ""));
        outer:
        for (int i = from; i <= hay.length - n.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (hay[i + j] != n[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void theIdtPointsAtTheGeneratedHandlers() {
        GuestImage img = GuestGenerator.generate(USER_FAULT, Backend.pvm());
        assertEquals("v0.pf", img.symbols().get(gate(img, 0, 14)));
        assertEquals("v0.page_ready", img.symbols().get(gate(img, 0, Experiments.VECTOR)));
        assertEquals("v0.ud_gate", img.symbols().get(gate(img, 0, 6)));
        assertEquals("v0.exc13", img.symbols().get(gate(img, 0, 13)));
        assertEquals("v0.entry", img.symbols().get(img.entries().getFirst().rip()));
        assertEquals(GuestLayout.kernelStackTop(0), img.entries().getFirst().rsp());
        assertTrue(img.symbolize(gate(img, 0, 14) + 5).startsWith("v0.pf+0x5"));
    }

    @Test
    void onlyTheSoftwareBackendGetsTheVirtualIfHypercallForKernelTouches() {
        String hypercall = "b8 0c 10 00 00 bb 00 00 08 00 cd 1b"; // mov eax,0x100c; mov ebx,0x80000; int 0x1b
        TestGuest kernel = Experiments.all().get("appc-kernel-send-always").guest();
        GuestImage pvm = GuestGenerator.generate(kernel, Backend.pvm());
        GuestImage vmx = GuestGenerator.generate(kernel, Backend.vmx());
        assertFalse(GuestGenerator.generate(USER_FAULT, Backend.pvm()).virtualIf(),
                "a guest that touches only at CPL3 keeps its kernel emulated");
        assertTrue(pvm.virtualIf());
        assertFalse(vmx.virtualIf());
        assertTrue(indexOf(chunk(pvm, GuestLayout.code(0)), hypercall, 0) >= 0);
        assertEquals(-1, indexOf(chunk(vmx, GuestLayout.code(0)), hypercall, 0));
        // sti on pvm is preceded by "mov byte [vif], 1" (vif = 0x80000)
        assertTrue(indexOf(chunk(pvm, GuestLayout.code(0)), "c6 04 25 00 00 08 00 01 fb", 0) >= 0);
        assertEquals(-1, indexOf(chunk(vmx, GuestLayout.code(0)), "c6 04 25 00 00 08 00 01", 0));
    }

    @Test
    void thePageReadyStepsAreEmittedInTheUsersOrder() {
        List<ReadyStep> order = List.of(ReadyStep.EOI, ReadyStep.ACK, ReadyStep.READ_TOKEN, ReadyStep.ZERO_TOKEN);
        TestGuest g = new TestGuest("order", ApicMode.X2APIC, PvCpuid.all(), 0x5000, 236, NotPresentReaction.SPIN,
                order, USER_FAULT.regions(), USER_FAULT.programs());
        byte[] code = chunk(GuestGenerator.generate(g, Backend.vmx()), GuestLayout.code(0));
        List<Integer> at = new ArrayList<>();
        for (ReportKind k : List.of(ReportKind.READY_EOI, ReportKind.READY_ACK, ReportKind.READY_TOKEN,
                ReportKind.READY_ZERO)) {
            at.add(indexOf(code, String.format("ba %02x %02x 00 00", k.port() & 0xff, k.port() >> 8), 0));
        }
        for (int i = 1; i < at.size(); i++) {
            assertTrue(at.get(i - 1) >= 0 && at.get(i - 1) < at.get(i), "report order " + at);
        }
    }

    @Test
    void everyPageIsUserAccessible() {
        GuestImage img = GuestGenerator.generate(USER_FAULT, Backend.pvm());
        ByteBuffer pt = ByteBuffer.wrap(chunk(img, GuestLayout.PML4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 512; i++) {
            long e = pt.getLong((int) (GuestLayout.PD_LOW - GuestLayout.PML4) + i * 8);
            assertEquals(((long) i << 21) | 0x87, e, "2 MiB page " + i + " present, writable, user");
        }
        assertEquals(GuestLayout.PDPT | 7, pt.getLong(0));
    }

    @Test
    void theTssDescriptorAndRsp0() {
        TestGuest two = Experiments.all().get("two-vcpus").guest();
        GuestImage img = GuestGenerator.generate(two, Backend.svm());
        ByteBuffer gdt = ByteBuffer.wrap(chunk(img, GuestLayout.gdt(1))).order(ByteOrder.LITTLE_ENDIAN);
        long lo = gdt.getLong(40);
        long base = ((lo >>> 16) & 0xffffff) | (((lo >>> 56) & 0xff) << 24);
        assertEquals(GuestLayout.tss(1), base);
        ByteBuffer tss = ByteBuffer.wrap(chunk(img, GuestLayout.tss(1))).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(GuestLayout.kernelStackTop(1), tss.getLong(4));
        assertEquals(2, img.entries().size());
    }

    @Test
    void badDescriptionsAreRefusedNamingTheField() {
        TestGuest bad = new TestGuest("bad", ApicMode.X2APIC, PvCpuid.all(), 0x5010, 7, NotPresentReaction.SPIN,
                Experiments.LINUX_READY, List.of(new RemoteRegion("r", 0x100000, 1, new Backing.Never())),
                List.of(List.of(new Touch(0x900000, false, Cpl.CPL3), new End(), new Hlt())));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GuestGenerator.generate(bad, Backend.pvm()));
        String m = e.getMessage();
        assertTrue(m.contains("apfArea"), m);
        assertTrue(m.contains("intVector"), m);
        assertTrue(m.contains("regions.r: gpa 0x100000 overlaps"), m);
        assertTrue(m.contains("programs[0][0] Touch: gva 0x900000"), m);
        assertTrue(m.contains("programs[0][1] End: End must be the last step"), m);
        assertTrue(new TestGuest("none", ApicMode.X2APIC, PvCpuid.all(), 0x5000, 236, NotPresentReaction.SPIN,
                List.of(), List.of(), List.of()).problems().getFirst().startsWith("programs:"));
    }
}
