package dev.apfsim.host;

import dev.apfsim.kvm.HostCosts;
import dev.apfsim.kvm.HostCpuConfig;
import dev.apfsim.kvm.arm64.Arm64Config;
import dev.apfsim.kvm.arm64.Arm64Injection;
import dev.apfsim.kvm.x86.X86Config;
import dev.apfsim.kvm.x86.X86Policy;

/**
 * How the host KVM is set up for this VM, as the scenario's {@code host} section gives it: the generic part
 * ({@code asyncPf}, {@code costs}, {@code arch}) and every architecture's fields, from which {@link #x86()} and
 * {@link #arm64()} build the part the chosen architecture reads.
 *
 * @param asyncPf          host-side async PF at all ({@code false}: every fault synchronous, as before 2.6.38)
 * @param lapicInKernel    in-kernel LAPIC ({@code lapic_in_kernel})
 * @param enforcePvCpuid   KVM_CAP_ENFORCE_PV_FEATURE_CPUID: MSR access needs the CPUID bits below
 * @param cpuidAsyncPf     KVM_FEATURE_ASYNC_PF (bit 4)
 * @param cpuidAsyncPfVmexit KVM_FEATURE_ASYNC_PF_VMEXIT (bit 10)
 * @param cpuidAsyncPfInt  KVM_FEATURE_ASYNC_PF_INT (bit 14)
 * @param hltInGuest       HLT exits disabled (KVM_CAP_X86_DISABLE_EXITS, {@code kvm_hlt_in_guest})
 * @param tdp              two-dimensional paging (EPT/NPT); false = shadow paging
 * @param apfIdStart       initial {@code apf.id} token counter (0 in the kernel; a test knob to reach the wrap)
 * @param arch             which host rules run: x86 (Linux 6.12), the arm64 proposal of seed thread 002, s390 pfault
 * @param arm64Injection   with {@code arch} arm64: how notifications reach the guest and what guards them
 * @param hostCpus         the host CPUs the vCPU threads and kworkers share, and where the threads run
 */
public record KvmConfig(boolean asyncPf, boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                        boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest, HostCosts costs,
                        X86Policy policy, boolean tdp, int apfIdStart, HostArch arch, Arm64Injection arm64Injection,
                        HostCpuConfig hostCpus) {

    public KvmConfig {
        java.util.Objects.requireNonNull(arch, "arch");
        java.util.Objects.requireNonNull(arm64Injection, "arm64Injection");
        java.util.Objects.requireNonNull(hostCpus, "hostCpus");
    }

    public KvmConfig(boolean asyncPf, boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                     boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest, HostCosts costs,
                     X86Policy policy, boolean tdp, int apfIdStart, HostArch arch, Arm64Injection arm64Injection) {
        this(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt, hltInGuest,
                costs, policy, tdp, apfIdStart, arch, arm64Injection, HostCpuConfig.defaults());
    }

    /** An x86 host (the arity before {@code host.arch} existed). */
    public KvmConfig(boolean asyncPf, boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                     boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest, HostCosts costs,
                     X86Policy policy, boolean tdp, int apfIdStart) {
        this(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt, hltInGuest,
                costs, policy, tdp, apfIdStart, HostArch.X86, Arm64Injection.PC_RANGE);
    }

    public KvmConfig(boolean asyncPf, boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                     boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest, HostCosts costs,
                     X86Policy policy) {
        this(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt, hltInGuest,
                costs, policy, true, 0);
    }

    public static KvmConfig defaults() {
        return new KvmConfig(true, true, false, true, true, true, false, HostCosts.defaults(), X86Policy.linux612());
    }

    public KvmConfig withPolicy(X86Policy p) {
        return new KvmConfig(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt,
                hltInGuest, costs, p, tdp, apfIdStart, arch, arm64Injection);
    }

    public KvmConfig withAsyncPf(boolean on) {
        return new KvmConfig(on, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt,
                hltInGuest, costs, policy, tdp, apfIdStart, arch, arm64Injection, hostCpus);
    }

    public KvmConfig withMmu(boolean tdpOn, int idStart) {
        return new KvmConfig(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt,
                hltInGuest, costs, policy, tdpOn, idStart, arch, arm64Injection, hostCpus);
    }

    public KvmConfig withArch(HostArch a, Arm64Injection injection) {
        return new KvmConfig(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt,
                hltInGuest, costs, policy, tdp, apfIdStart, a, injection, hostCpus);
    }

    public KvmConfig withHostCpus(HostCpuConfig c) {
        return new KvmConfig(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt,
                hltInGuest, costs, policy, tdp, apfIdStart, arch, arm64Injection, c);
    }

    /** The x86 host's part. */
    public X86Config x86() {
        return new X86Config(lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit, cpuidAsyncPfInt,
                hltInGuest, policy, tdp, apfIdStart);
    }

    /** The arm64 host's part: the injection design, and the token rules it shares with x86. */
    public Arm64Config arm64() {
        return new Arm64Config(arm64Injection, policy.tokenWrapFix(), apfIdStart, policy.pageReadyWaitsForAck());
    }

    /** {@code guest_pv_has}: without enforcement every PV feature counts as present. */
    public boolean guestPvHas(boolean cpuidBit) {
        return !enforcePvCpuid || cpuidBit;
    }
}
