package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.KvmAsyncPf;

/**
 * The x86 remainder of {@code struct kvm_arch_async_pf}: the guest page-table root and MMU kind at fault time
 * ({@code cr3}, {@code direct_map}), whether L2 ran (for the nested prefault checks), and the error code.
 */
public record X86ArchAsyncPf(long cr3, boolean directMap, boolean guestMode, long errorCode)
        implements KvmAsyncPf.Arch {
}
