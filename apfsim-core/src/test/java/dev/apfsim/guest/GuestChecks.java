package dev.apfsim.guest;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.x86.X86Exit;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.TraceEvent;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guest-side conformance behaviours checked on the guest kernel alone ({@link GuestHarness}): events a
 * conforming 6.12 host never produces by itself, so no host scenario can show them. Called from
 * {@code ReferenceBehaviourTest}.
 */
public final class GuestChecks {
    private GuestChecks() {
    }

    static final long X = 0x300000;

    /** Behaviour 31: flags = 0 at #PF entry → normal page-fault handling (no async wait); flags = 1 → async wait. */
    public static void regularPfPassesThrough() {
        GuestHarness h = new GuestHarness(1, GuestHarness.linuxNoTick());
        Task t = h.task("t", 0, new Action.Touch(X, false));
        GuestExit e = h.runPastMsrs(0);
        assertEquals(X, assertInstanceOf(GuestExit.MemoryFault.class, e).gva());
        assertEquals(0, h.ram.read32(h.cpu(0).areaGpa() + ApfMsr.OFFSET_FLAGS));

        h.injectRegularPf(0, X);
        e = h.run(0);
        assertEquals(X, assertInstanceOf(GuestExit.MemoryFault.class, e).gva(), "the access is retried");
        List<TraceEvent.GuestPageFault> pf = h.all(TraceEvent.GuestPageFault.class);
        assertEquals(1, pf.size());
        assertEquals(X, pf.getFirst().address());
        assertEquals(t.id, pf.getFirst().task());
        assertTrue(h.all(TraceEvent.GuestApfWait.class).isEmpty(), "no async wait");
        assertEquals(1, h.metrics.counters.get(Counter.GUEST_PF_REGULAR));
        assertEquals(0, h.metrics.counters.get(Counter.GUEST_PF_ASYNC));
        assertEquals(Task.State.RUNNING, t.state());
        assertTrue(h.panics.isEmpty());

        // the same #PF with flags = 1 is an async "page not present": the task sleeps on the token (CR2)
        h.injectAsyncPf(0, 0x1000);
        e = h.run(0);
        assertInstanceOf(GuestExit.Hlt.class, e, "nothing else to run: idle");
        TraceEvent.GuestApfWait w = h.all(TraceEvent.GuestApfWait.class).getFirst();
        assertEquals(0x1000, w.token());
        assertEquals(false, w.dummyConsumed());
        assertEquals(Task.State.APF_SLEEP, t.state());
        assertEquals(0, h.ram.read32(h.cpu(0).areaGpa() + ApfMsr.OFFSET_FLAGS), "flags read and zeroed");
    }

    /** Behaviour 32: page-ready for T before the #PF with T → dummy node; the later #PF returns without sleeping. */
    public static void wakeBeforeFault() {
        GuestHarness h = new GuestHarness(1, GuestHarness.linuxNoTick());
        Task t = h.task("t", 0, new Action.Touch(X, false));
        assertInstanceOf(GuestExit.MemoryFault.class, h.runPastMsrs(0));

        h.injectPageReady(0, 0x1000);
        GuestExit e = h.run(0);
        X86Exit.WrMsr ack = assertInstanceOf(X86Exit.WrMsr.class, e);
        assertEquals(ApfMsr.MSR_KVM_ASYNC_PF_ACK, ack.msr());
        TraceEvent.GuestApfWake wake = h.all(TraceEvent.GuestApfWake.class).getFirst();
        assertEquals(-1, wake.task(), "no sleeper: a dummy node");
        assertEquals(0x1000, wake.token());
        assertEquals(1, h.kernel.sleepers().dummies());
        assertEquals(0, h.ram.read32(h.cpu(0).areaGpa() + ApfMsr.OFFSET_TOKEN));
        assertInstanceOf(GuestExit.MemoryFault.class, h.run(0));

        h.injectAsyncPf(0, 0x1000);
        e = h.run(0);
        assertInstanceOf(GuestExit.MemoryFault.class, e, "returned at once and retried the access");
        TraceEvent.GuestApfWait w = h.all(TraceEvent.GuestApfWait.class).getFirst();
        assertTrue(w.dummyConsumed());
        assertEquals(Task.State.RUNNING, t.state());
        assertEquals(0, t.apfWaits());
        assertEquals(0, h.kernel.sleepers().size(), "the dummy was consumed");
    }

    /**
     * Behaviour 35: async #PF (flags = 1) into an IF=0 region or into kernel mode → the two panics. Which one a
     * kernel-mode IF=0 fault gets is the order of {@code __kvm_handle_async_pf}'s checks: the kernel-mode check
     * first in 6.12.117, the IF check first in mainline.
     */
    public static void panicOnAsyncPfWithInterruptsOff(GuestConfig.KernelVersion version) {
        record Case(String message, Action... steps) {
        }
        String kernelIrqOff = version == GuestConfig.KernelVersion.MAINLINE
                ? "Host injected async #PF in interrupt disabled region" : "Host injected async #PF in kernel mode";
        for (Case c : List.of(
                new Case("Host injected async #PF in interrupt disabled region", Action.CLI,
                        new Action.Touch(X, false)),
                new Case(kernelIrqOff, new Action.KernelMode(true), Action.CLI, new Action.Touch(X, false)),
                new Case("Host injected async #PF in kernel mode", new Action.KernelMode(true),
                        new Action.Touch(X, false)))) {
            GuestHarness h = new GuestHarness(1, GuestHarness.linuxNoTick().withVersion(version));
            h.task("t", 0, c.steps());
            assertInstanceOf(GuestExit.MemoryFault.class, h.runPastMsrs(0));
            h.injectAsyncPf(0, 0x1000);
            assertInstanceOf(GuestExit.Dead.class, h.run(0));
            assertEquals(List.of(c.message()), h.panics);
            assertTrue(h.kernel.panicked());
        }
    }
}
