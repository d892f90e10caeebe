package dev.apfsim.kvm;

import dev.apfsim.metrics.Counter;

/**
 * One architecture's async PF rules as the vCPU run loop and the stage-2 / EPT fault path use them: the
 * {@code kvm_arch_*} hooks of {@code virt/kvm/async_pf.c} ({@link AsyncPfArch}) plus the decisions the arch code
 * takes around them. The defaults are x86's; the arm64 proposal overrides what it does differently.
 */
public interface ArchAsyncPf extends AsyncPfArch {
    /** SMCCC return value of an unknown function ({@code SMCCC_RET_NOT_SUPPORTED}). */
    long SMCCC_RET_NOT_SUPPORTED = -1;

    /**
     * May this fault go async? null if yes, else the counter saying why it is synchronous (x86
     * {@code kvm_can_do_async_pf}; arm64 RFCv2 {@code !kvm_arch_can_inject_async_page_not_present}).
     */
    Counter cannotDoAsyncPf();

    /** {@code kvm_arch_setup_async_pf}: false means the generic queue is full (fault synchronously). */
    boolean setupAsyncPf(long cr2OrGpa, long gfn, boolean write);

    /** Token of the last async PF set up (for observers). */
    int lastToken();

    /**
     * A fault on a gfn that already has an async PF outstanding: x86 puts the vCPU in the synthetic halt
     * ({@code KVM_REQ_APF_HALT}); false means the vCPU simply re-enters the guest (arm64 RFCv2 {@code try_async_pf}
     * returns true, "retry").
     */
    default boolean haltOnRepeatedFault() {
        return true;
    }

    /**
     * {@code kvm_check_async_pf_completion} runs on every guest entry (arm64 RFCv2 {@code kvm_arch_vcpu_ioctl_run})
     * instead of only on {@code KVM_REQ_APF_READY}.
     */
    default boolean checkCompletionOnEntry() {
        return false;
    }

    /** Arch conditions that make a blocked vCPU runnable beyond the generic ones ({@code kvm_arch_vcpu_runnable}). */
    default boolean runnable() {
        return false;
    }

    /**
     * Delivers the pending notification (queued with the token) at VM entry; false means the caller delivers it
     * the x86 way, as a #PF or a nested VM-exit.
     */
    default boolean deliverPendingEvent(long at, long token) {
        return false;
    }

    /** A guest hypercall (HVC/SMCCC); returns x0. */
    default long hypercall(long func, long arg) {
        return SMCCC_RET_NOT_SUPPORTED;
    }

    /** vCPU reset: the arch state the x86 MSR reset does not cover. */
    default void reset() {
    }

    /** After a live migration dropped the host-only state: re-register what the VMM restores. */
    default void migrated() {
    }
}
