package dev.apfsim.kvm;

import dev.apfsim.arch.GuestExit;

/**
 * What one architecture implements for the generic core, after the kernel's {@code kvm_arch_*} hooks: the ones
 * {@code virt/kvm/async_pf.c} calls, and the arch half of {@code kvm_vcpu_ioctl(KVM_RUN)} (requests, event
 * injection, exit handling, runnability). x86 ({@code kvm.x86}), the arm64 proposal ({@code kvm.arm64}) and s390
 * ({@code kvm.s390}) each implement it; the core never looks behind it.
 */
public interface KvmArch {
    /** What the arch part of the run loop decided before entering the guest. */
    enum Entry {
        /** Inject pending events and enter the guest. */
        ENTER,
        /** A request changed the vCPU's state: start the loop over. */
        AGAIN,
        /** KVM_RUN returned to userspace (the arch already stopped the vCPU). */
        STOP,
        /**
         * The thread sleeps inside the pass (a prefault's blocking GUP, {@link AsyncPf#checkCompletion}); it carries
         * on from there when woken.
         */
        ASLEEP
    }

    // ---- virt/kvm/async_pf.c ------------------------------------------------------------------------

    /** kvm_arch_async_page_not_present: tell the guest (or halt it); true if the guest was told. */
    boolean asyncPageNotPresent(KvmAsyncPf work);

    /**
     * kvm_arch_async_page_ready: prefault the page before the guest retries. A prefetch fault never goes async: when
     * the page is not in, its GUP blocks the vCPU thread. Returns true in that case; the generic code then does the
     * blocking GUP of {@code work.gfn} on the vCPU thread and calls {@link #prefaultFaultedIn} when it returns.
     */
    boolean asyncPageReady(KvmAsyncPf work);

    /** The prefault's blocking GUP returned ({@code errno} 0: the page is in): finish the prefetch fault. */
    default void prefaultFaultedIn(KvmAsyncPf work, int errno) {
        throw new IllegalStateException("this architecture never blocks in a prefault");
    }

    /** kvm_arch_async_page_present: the page is in; notify the guest if it was told it was not. */
    void asyncPagePresent(KvmAsyncPf work);

    /** kvm_arch_async_page_present_queued: the first item reached the done list. */
    void asyncPagePresentQueued();

    /** kvm_arch_can_dequeue_async_page_present: may the next done item be consumed now. */
    boolean canDequeueAsyncPagePresent();

    // ---- the vCPU run loop --------------------------------------------------------------------------

    /** kvm_vcpu_running, the arch part: false while the arch keeps the vCPU halted (x86 synthetic halt). */
    default boolean vcpuRunning() {
        return true;
    }

    /** kvm_arch_vcpu_runnable → kvm_vcpu_has_events, the arch part (pending exceptions, interrupts). */
    boolean vcpuHasEvents();

    /** kvm_arch_vcpu_ioctl_run before entry: the arch's requests ({@code kvm_check_request}) and checks. */
    Entry vcpuEnterGuest();

    /** kvm_check_and_inject_events (x86) and its counterparts: one pending event into the guest at {@code at}. */
    void injectPendingEvents(long at);

    /**
     * The guest exited because the interrupt window opened (x86 {@code handle_interrupt_window}): stop asking for
     * that exit ({@code CpuState.interruptWindowExiting}); the next entry injects.
     */
    void interruptWindowExit();

    /** kvm_vcpu_block, why: the arch's async PF halt (x86 {@code vcpu->arch.apf.halted}) rather than HLT. */
    default boolean inApfHalt() {
        return false;
    }

    /** kvm_vcpu_block returned runnable: leave the arch's halt states. */
    default void vcpuUnhalted() {
    }

    /** kvm_arch_vcpu_ioctl_run's exit handlers: every exit but HLT and a dead guest. */
    void handleExit(GuestExit exit);

    /**
     * No kernel hook: the observers' read-only view ({@link VcpuView}) of a page-ready for {@code token} that has
     * left the host but not reached the guest yet.
     */
    boolean pageReadyInFlight(long token);

    /** KVM_GET_* / KVM_SET_* vCPU ioctls: the VMM saves this vCPU and restores it on a destination (migration). */
    void migrate();

    /**
     * Whether the blocking GUP of a fault may be interrupted by a signal ({@code FOLL_INTERRUPTIBLE}: it gives up
     * with -EINTR, {@code KVM_PFN_ERR_SIGPENDING}, instead of waiting for the page), as the VMM's kick of the
     * thread before it saves the vCPU (QEMU's SIG_IPI) is.
     */
    default boolean gupInterruptible() {
        return false;
    }
}
