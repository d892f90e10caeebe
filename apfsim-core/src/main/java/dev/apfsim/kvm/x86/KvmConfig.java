package dev.apfsim.kvm.x86;

/**
 * How the host KVM is set up for this VM.
 *
 * @param asyncPf          host-side async PF at all ({@code false}: every fault synchronous, as before 2.6.38)
 * @param lapicInKernel    in-kernel LAPIC ({@code lapic_in_kernel})
 * @param enforcePvCpuid   KVM_CAP_ENFORCE_PV_FEATURE_CPUID: MSR access needs the CPUID bits below
 * @param cpuidAsyncPf     KVM_FEATURE_ASYNC_PF (bit 4)
 * @param cpuidAsyncPfVmexit KVM_FEATURE_ASYNC_PF_VMEXIT (bit 10)
 * @param cpuidAsyncPfInt  KVM_FEATURE_ASYNC_PF_INT (bit 14)
 * @param hltInGuest       HLT exits disabled (KVM_CAP_X86_DISABLE_EXITS, {@code kvm_hlt_in_guest})
 */
public record KvmConfig(boolean asyncPf, boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                        boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest, HostCosts costs,
                        X86Policy policy) {

    public static KvmConfig defaults() {
        return new KvmConfig(true, true, false, true, true, true, false, HostCosts.defaults(), X86Policy.linux612());
    }

    /** {@code guest_pv_has}: without enforcement every PV feature counts as present. */
    public boolean guestPvHas(boolean cpuidBit) {
        return !enforcePvCpuid || cpuidBit;
    }
}
