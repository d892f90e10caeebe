package dev.apfsim.guest;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.CpuState;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;

/**
 * L0's async #PF when this guest is itself a hypervisor (L1) running an L2 (seed thread 000): either forwarded to
 * L1 as a nested #PF VM-exit that L1's KVM handles with its own async PF flags, or injected straight into L2,
 * which knows nothing of L0's async PF.
 */
final class NestedAsyncPf {
    private final GuestKernel kernel;
    private final int id;
    private final GuestCpu.Platform platform;
    private final CpuState cpu;
    private final HandlerFrames frames;
    private final Scheduler scheduler;
    private final ApfRegistration registration;
    private final GuestAsyncPf asyncPf;

    NestedAsyncPf(GuestKernel kernel, int id, GuestCpu.Platform platform, HandlerFrames frames, Scheduler scheduler,
                  ApfRegistration registration, GuestAsyncPf asyncPf) {
        this.kernel = kernel;
        this.id = id;
        this.platform = platform;
        this.cpu = platform.state();
        this.frames = frames;
        this.scheduler = scheduler;
        this.registration = registration;
        this.asyncPf = asyncPf;
    }

    /** A #PF VM-exit from L2 reaches L1 (exit qualification = {@code token}). */
    void deliverPfExit(long token) {
        long fault = kernel.faultEntered(kernel.sim.now(), id);
        frames.enter(Frame.Kind.PAGE_FAULT, kernel.pfHandlerStep,
                new Action.Op((c, t) -> l1HandleAsyncPfExit(t, token, fault)));
    }

    /**
     * KVM as L1 after a #PF VM-exit from L2 ({@code vmx.c: handle_exception_irqoff}, {@code mmu.c:
     * kvm_handle_page_fault}): its own flags say "page not present", so the L1 vCPU thread sleeps on the token
     * until L0's page-ready interrupt wakes it, then resumes L2.
     */
    private void l1HandleAsyncPfExit(long now, long token, long fault) {
        int flags = registration.readAndResetFlags(); // host_apf_flags = kvm_read_and_reset_apf_flags()
        kernel.faultClassified(now, id, fault, Probe.Site.NESTED_EXIT, flags, token);
        if ((flags & ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT) == 0 || scheduler.current() == null) {
            return; // flags 0: an ordinary #PF exit, reflected to L2 (not modelled further)
        }
        kernel.metrics.counters.inc(Counter.GUEST_PF_ASYNC);
        asyncPf.taskWaitSchedule(now, token);
    }

    /**
     * A #PF injected straight into L2 (before adfe20fb4878, or a migrated nested async #PF that L1 does not
     * intercept): L2 knows nothing of L0's async PF, so it takes the token for a faulting address.
     */
    void deliverExceptionToL2(long cr2) {
        long fault = kernel.faultEntered(kernel.sim.now(), id);
        frames.enterInL2(new Frame(Frame.Kind.PAGE_FAULT, cpu.interruptFlag, cpu.cpl, true,
                kernel.pfHandlerStep,
                new Action.Op((c, t) -> l2PageFault(t, cr2, fault))));
    }

    /** L2's #PF handler: an address its task maps is its own fault, which it fixes; any other is SIGSEGV. */
    private void l2PageFault(long now, long cr2, long fault) {
        kernel.faultClassified(now, id, fault, Probe.Site.L2_PF, 0, cr2);
        Task current = scheduler.current();
        if (current != null && !current.maps(cr2)) {
            scheduler.kill(current, now, "SIGSEGV (in L2)", cr2);
        }
    }
}
