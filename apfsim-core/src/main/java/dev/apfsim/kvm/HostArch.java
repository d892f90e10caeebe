package dev.apfsim.kvm;

/**
 * Which host KVM rules a scenario runs ({@code host.arch}). {@code X86}: Linux 6.12 x86 (everything else in this
 * model). {@code ARM64}: Gavin Shan's never-merged arm64 async PF proposal (seed thread 002, "kvm/arm64: Support async page fault", May 2020),
 * with the injection design picked by {@code host.policy.arm64_injection}. Both share the generic core
 * ({@link AsyncPf}) and the vCPU run loop; only the {@link ArchAsyncPf} rules and the guest's entry code differ.
 */
public enum HostArch {
    X86("x86"),
    ARM64("arm64");

    private final String key;

    HostArch(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
