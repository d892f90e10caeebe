package dev.apfsim.realkvm;

import dev.apfsim.realkvm.events.ApfEvent;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.events.Canonical;
import dev.apfsim.realkvm.events.Cycle;
import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.realkvm.guest.GuestEvent;
import dev.apfsim.realkvm.guest.ReportKind;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.Probe;
import dev.apfsim.realkvm.uffd.FaultRecord;
import dev.apfsim.realkvm.vmm.Recording;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real-kernel experiments, run on this host's /dev/kvm. Skipped (one line, the probe's reason) where
 * there is no usable KVM, root, userfaultfd or tracefs.
 */
class AppendixCTest {
    private static Backend backend;
    private static boolean tracefsWasMounted;

    @BeforeAll
    static void probe() {
        Probe p = Probe.probe();
        assumeTrue(p instanceof Probe.Usable, "no usable KVM here: " + p);
        backend = ((Probe.Usable) p).backend();
        tracefsWasMounted = Files.isDirectory(Path.of("/sys/kernel/tracing/instances"));
    }

    @AfterAll
    static void hostIsUnchanged() throws IOException {
        if (backend == null) {
            return;
        }
        boolean mounted = Files.isDirectory(Path.of("/sys/kernel/tracing/instances"));
        if (!tracefsWasMounted && mounted) {
            // another apfsim process may be using a mount of its own; one of ours would name us in the marker
            Path marker = Path.of("/run/apfsim-tracefs-mount.pid");
            assertFalse(Files.exists(marker) && Files.readString(marker).trim()
                    .equals(Long.toString(ProcessHandle.current().pid())), "the tracefs we mounted is unmounted");
        }
        if (mounted) {
            try (Stream<Path> s = Files.list(Path.of("/sys/kernel/tracing/instances"))) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("apfsim-" + ProcessHandle.current().pid())),
                        "no tracefs instance of ours is left");
            }
        }
    }

    private record Run(Recording rec, List<ApfEvent> events, List<String> keys) {
        boolean has(String key) {
            return keys.contains(key);
        }

        int indexOf(String key) {
            return keys.indexOf(key);
        }

        long count(String prefix) {
            return keys.stream().filter(k -> k.startsWith(prefix)).count();
        }

        List<GuestEvent> guest(ReportKind k) {
            return rec.guestEvents().stream().filter(g -> g.kind() == k).toList();
        }
    }

    private static Run run(String experiment) throws IOException {
        return run(experiment, -1);
    }

    private static Run run(String experiment, long ms) throws IOException {
        Experiments.Experiment e = Experiments.all().get(experiment);
        Recording r = RealKvm.record(e.guest(), backend, ms > 0 ? ms : e.timeLimitMs());
        List<ApfEvent> ev = RealKvm.events(r);
        return new Run(r, ev, ev.stream().map(ApfEvent::key).toList());
    }

    private static final String WAKE_ALL = "kvm_async_pf_ready token 0xffffffff gva 0x0";
    private static final String IRQ = "kvm_apic_accept_irq vec 236";

    @Test
    void firstEnableWakesAllBeforeAnyFault() throws IOException {
        Run r = run("appc-wakeup-all");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        int en = r.indexOf("kvm_msr write MSR_KVM_ASYNC_PF_EN = 0x5009");
        assertTrue(en >= 0, r.keys().toString());
        assertEquals(WAKE_ALL, r.keys().get(en + 1));
        assertEquals(IRQ, r.keys().get(en + 2));
        assertEquals(0, r.count("kvm_try_async_get_page"));
        assertEquals(0xffffffffL, r.guest(ReportKind.READY_TOKEN).getFirst().value());
    }

    @Test
    void userModeFaultIsAnAsyncPfWithTheTokenInCr2() throws IOException {
        Run r = run("appc-user-fault");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        int np = r.indexOf("kvm_async_pf_not_present token 0x1000 gva 0x200000");
        assertTrue(np > 0 && r.keys().get(np - 1).equals("kvm_try_async_get_page gva 0x200000 gfn 0x200"), r.keys().toString());
        assertPfInjectedAfter(r, np);
        assertEquals(0x1000, r.guest(ReportKind.PF_CR2).getFirst().value(), "CR2 = token");
        assertEquals(1, r.guest(ReportKind.PF_FLAGS).getFirst().value(), "flags = page not present");
        assertTrue(r.has("kvm_async_pf_ready token 0x1000 gva 0x200000"));
        assertTrue(r.has("kvm_async_pf_not_present token 0x2000 gva 0x201000"), "tokens climb by 0x1000");
        List<FaultRecord> f = r.rec().faults();
        assertFalse(f.isEmpty());
        assertTrue(f.stream().noneMatch(FaultRecord::synchronous), "a kworker, not the vCPU thread, faults: " + f);
        assertEquals(0x200000, r.guest(ReportKind.TOUCH_DONE).getFirst().value(), "the copied page's first word");
    }

    @Test
    void kernelModeFaultIsDeliveredWithSendAlways() throws IOException {
        Run r = run("appc-kernel-send-always");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        int np = r.indexOf("kvm_async_pf_not_present token 0x1000 gva 0x200000");
        assertPfInjectedAfter(r, np);
        assertEquals(0x1000, r.guest(ReportKind.PF_CR2).getFirst().value());
    }

    @Test
    void kernelModeFaultWithoutSendAlwaysHaltsAndGetsNoInterrupt() throws IOException {
        Run r = run("appc-kernel-user-only");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        assertTrue(r.has("kvm_async_pf_not_present token 0x1000 gva 0x200000"), r.keys().toString());
        assertEquals(0, r.count("kvm_inj_exception"), r.keys().toString());
        int ready = r.indexOf("kvm_async_pf_ready token 0x1000 gva 0x200000");
        assertTrue(ready > 0);
        assertEquals(1, r.count(IRQ), "only the wake-all interrupts: " + r.keys());
        assertTrue(r.guest(ReportKind.PF_CR2).isEmpty());
    }

    @Test
    void interruptsOffMeansASynchronousFault() throws IOException {
        Run r = run("appc-irq-off");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        assertEquals(0, r.count("kvm_try_async_get_page"), r.keys().toString());
        assertEquals(0, r.count("kvm_async_pf_not_present"));
        assertTrue(r.rec().faults().stream().allMatch(f -> f.synchronous() && f.vcpu() == 0), r.rec().faults().toString());
    }

    @Test
    void enableWithoutDeliveryAsIntInjectsNothing() throws IOException {
        Run r = run("appc-no-delivery-as-int");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        assertFalse(r.has(WAKE_ALL), r.keys().toString());
        assertEquals(0, r.count("kvm_inj_exception"));
        assertEquals(0, r.count("kvm_apic_accept_irq"));
        assertTrue(r.has("kvm_async_pf_not_present token 0x1000 gva 0x200000"), "host-side async PF still happens");
        assertTrue(r.has("kvm_async_pf_ready token 0x1000 gva 0x200000"));
    }

    @Test
    void aHandlerThatReturnsAtOnceHitsTheOutstandingGfn() throws IOException {
        Run r = run("appc-return-without-wait");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        int inj = r.indexOf("kvm_inj_exception #PF (0x0)");
        int rep = r.indexOf("kvm_async_pf_repeated_fault gva 0x200000 gfn 0x200");
        int ready = r.indexOf("kvm_async_pf_ready token 0x1000 gva 0x200000");
        assertTrue(inj >= 0 && inj < rep && rep < ready, r.keys().toString());
        assertEquals(1, r.count("kvm_async_pf_not_present"), "the retry starts no second async fault");
        assertEquals(0x1000, r.guest(ReportKind.PF_RETURN).getFirst().value());
    }

    @Test
    void unmappedWhileInFlightGivesPageReadyThenEfault() throws IOException {
        Run r = run("appc-unmap-in-flight");
        assertEquals(RunEnd.Kind.EFAULT, r.rec().end().kind(), r.rec().end().toString());
        int ready = r.indexOf("kvm_async_pf_ready token 0x1000 gva 0x200000");
        int err = r.indexOf("kvm_userspace_exit error (14)");
        assertTrue(ready >= 0 && ready < err, r.keys().toString());
    }

    @Test
    void sigbusWithInterruptsOnLoopsForever() throws IOException {
        Run r = run("appc-sigbus-irq-on", 500);
        assertEquals(RunEnd.Kind.STILL_RUNNING, r.rec().end().kind(), r.rec().end().toString());
        Cycle c = Cycle.detect(Canonical.order(r.events()));
        assertNotNull(c, r.keys().toString());
        assertTrue(c.shape().contains("kvm_async_pf_not_present token * gva 0x200000"), c.shape().toString());
        assertTrue(c.shape().contains("kvm_async_pf_ready token * gva 0x200000"), c.shape().toString());
        assertTrue(c.cycles() >= 10, "cycles in 0.5 s: " + c.cycles());
        assertEquals(0, r.count("kvm_userspace_exit error"), "KVM_RUN never fails");
        System.out.printf("appc-sigbus-irq-on: period %d, %.0f cycles, %.0f cycles/s%n", c.period(), c.cycles(),
                c.cyclesPerSecond());
    }

    @Test
    void sigbusWithInterruptsOffIsAnImmediateEfault() throws IOException {
        Run r = run("appc-sigbus-irq-off");
        assertEquals(RunEnd.Kind.EFAULT, r.rec().end().kind(), r.rec().end().toString());
        assertEquals(0, r.count("kvm_try_async_get_page"));
        assertEquals("kvm_userspace_exit error (14)", r.keys().getLast());
    }

    @Test
    void aWakeWithoutAPageMakesTheWorkerFaultAgain() throws IOException {
        Run r = run("appc-wake-without-page");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        List<FaultRecord> f = r.rec().faults().stream().filter(x -> x.gpa() == 0x200000).toList();
        assertEquals(2, f.size(), f.toString());
        assertTrue(f.stream().noneMatch(FaultRecord::synchronous), f.toString());
        assertEquals(List.of("wake", "copy"), r.rec().services().stream().map(s -> s.action()).toList());
        assertEquals(1, r.count("kvm_async_pf_not_present"));
        assertEquals(1, r.count("kvm_async_pf_completed"), "one completion, once the page is there");
    }

    @Test
    void twoVcpusHaveTheirOwnTokens() throws IOException {
        Run r = run("two-vcpus");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        var byVcpu = new ApfTrace("real", r.events(), r.rec().end()).byVcpu();
        assertTrue(byVcpu.get(0).stream().anyMatch(e -> e.key().equals("kvm_async_pf_not_present token 0x1000 gva 0x200000")));
        assertTrue(byVcpu.get(1).stream().anyMatch(e -> e.key().equals("kvm_async_pf_not_present token 0x1001 gva 0x208000")));
    }

    @Test
    void aFaultNobodyAnswersEndsAtTheTimeLimit() throws IOException {
        long t0 = System.nanoTime();
        Run r = run("never-answered", 300);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(RunEnd.Kind.STILL_RUNNING, r.rec().end().kind(), r.rec().end().toString());
        assertTrue(r.rec().end().detail().contains("pf_spin"), "the guest spins in its #PF handler: " + r.rec().end());
        assertTrue(ms < 5000, "the watchdog ends the run: " + ms + " ms");
    }

    @Test
    void aSynchronousFaultNobodyAnswersIsInterruptedByTheWatchdog() throws IOException {
        Run r = run("never-answered-irq-off", 300);
        assertEquals(RunEnd.Kind.STILL_RUNNING, r.rec().end().kind(), r.rec().end().toString());
        assertTrue(r.rec().faults().stream().allMatch(FaultRecord::synchronous), r.rec().faults().toString());
        long ms = (r.rec().endNs() - r.rec().startNs()) / 1_000_000;
        assertTrue(ms < 1000, "the signal ends the vCPU's sleep in the fault at once: " + ms + " ms");
    }

    @Test
    void anXapicGuestTakesTheSameKernelModeFault() throws IOException {
        Run r = run("xapic-kernel-send-always");
        assertEquals(RunEnd.Kind.FINISHED, r.rec().end().kind(), r.rec().end().toString());
        int np = r.indexOf("kvm_async_pf_not_present token 0x1000 gva 0x200000");
        assertPfInjectedAfter(r, np);
        assertEquals(2, r.guest(ReportKind.READY_EOI).size(), "the MMIO EOI ran for the wake-all and the page");
    }

    @Test
    void enforcedCpuidRefusesTheIntMsrOfAFeatureNotAdvertised() throws IOException {
        Run r = run("enforce-cpuid-no-int");
        assertEquals(RunEnd.Kind.GUEST_EXCEPTION, r.rec().end().kind(), r.rec().end().toString());
        assertEquals(List.of("kvm_msr write MSR_KVM_ASYNC_PF_INT = 0xec (#GP)"), r.keys());
        assertEquals(13, r.guest(ReportKind.EXC_VECTOR).getFirst().value());
    }

    /**
     * The not-present at {@code np} is followed by its #PF injection. The kworker runs on the vCPU thread's CPU and
     * may complete (and queue the page-ready) before the vCPU re-enters, a race of the real host: only those events
     * may come between.
     */
    private static void assertPfInjectedAfter(Run r, int np) {
        List<String> after = r.keys().subList(np + 1, r.keys().size());
        int inj = -1;
        for (int i = 0; i < after.size() && inj < 0; i++) {
            inj = after.get(i).startsWith("kvm_inj_exception #PF (0x0)") ? i : -1;
        }
        assertTrue(inj >= 0, "no #PF after the not-present: " + r.keys());
        for (String k : after.subList(0, inj)) {
            assertTrue(k.startsWith("kvm_async_pf_completed") || k.startsWith("kvm_async_pf_ready")
                    || k.startsWith("kvm_apic_accept_irq"), "between the not-present and its #PF: " + k);
        }
    }
}
