package dev.apfsim.kvm.s390;

import dev.apfsim.kvm.KvmAsyncPf;

/** s390's {@code struct kvm_arch_async_pf}: the 64-bit token read from the guest's token address. */
public record S390ArchAsyncPf(long pfaultToken) implements KvmAsyncPf.Arch {
}
