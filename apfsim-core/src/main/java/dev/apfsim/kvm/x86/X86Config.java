package dev.apfsim.kvm.x86;

/**
 * The x86 part of the host set-up for this VM.
 *
 * @param lapicInKernel    in-kernel LAPIC ({@code lapic_in_kernel})
 * @param enforcePvCpuid   KVM_CAP_ENFORCE_PV_FEATURE_CPUID: MSR access needs the CPUID bits below
 * @param cpuidAsyncPf     KVM_FEATURE_ASYNC_PF (bit 4)
 * @param cpuidAsyncPfVmexit KVM_FEATURE_ASYNC_PF_VMEXIT (bit 10)
 * @param cpuidAsyncPfInt  KVM_FEATURE_ASYNC_PF_INT (bit 14)
 * @param hltInGuest       HLT exits disabled (KVM_CAP_X86_DISABLE_EXITS, {@code kvm_hlt_in_guest})
 * @param policy           the design variants of the seed threads
 * @param tdp              two-dimensional paging (EPT/NPT); false = shadow paging
 * @param apfIdStart       initial {@code apf.id} token counter (0 in the kernel; a test knob to reach the wrap)
 */
public record X86Config(boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                        boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest, X86Policy policy,
                        boolean tdp, int apfIdStart) {

    /** {@code guest_pv_has}: without enforcement every PV feature counts as present. */
    public boolean guestPvHas(boolean cpuidBit) {
        return !enforcePvCpuid || cpuidBit;
    }
}
