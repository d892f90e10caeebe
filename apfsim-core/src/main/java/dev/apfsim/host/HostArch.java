package dev.apfsim.host;

/**
 * Which host KVM rules a scenario runs ({@code host.arch}). {@code X86}: Linux 6.12 x86. {@code ARM64}: Gavin
 * Shan's never-merged arm64 async PF proposal (seed thread 002), with the injection design picked by
 * {@code host.policy.arm64_injection}. {@code S390}: Linux 6.12 s390 pfault ({@code arch/s390/kvm}). All three
 * plug into the same generic core ({@code dev.apfsim.kvm}) through {@code KvmArch}.
 */
public enum HostArch {
    X86("x86"),
    ARM64("arm64"),
    S390("s390");

    private final String key;

    HostArch(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
