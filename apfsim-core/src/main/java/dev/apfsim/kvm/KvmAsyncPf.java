package dev.apfsim.kvm;

/**
 * One outstanding async page fault: {@code struct kvm_async_pf}. The token and gfn every architecture's
 * {@code struct kvm_arch_async_pf} carries are here; what only one arch records (x86: CR3, direct map, error code)
 * is its {@link Arch} part.
 */
public final class KvmAsyncPf {
    /** {@code work->arch}: the arch-specific remainder of {@code struct kvm_arch_async_pf}. */
    public interface Arch {
    }

    /** Faulting address: a GVA under shadow paging, a GPA (or L2 GPA) under TDP. */
    public final long cr2OrGpa;
    /** Host virtual address of the page. */
    public final long addr;
    public final boolean wakeupAll;
    /** {@code arch.token} (s390 {@code arch.pfault_token}); wake-all items are rewritten to ~0 when presented. */
    public int token;
    public final long gfn;
    /** The arch part, or null (wake-all items). */
    public final Arch arch;
    public boolean notpresentInjected;
    /** The worker finished with it ({@code async_pf_execute} ran to the done list). */
    public boolean completed;
    /** GUP result in the worker; Linux 6.12 ignores it, the error policies of seed 004 do not. */
    public int workerErrno;
    public final long setupTime;
    /** The host CPU and pool index of the kworker that ran it ({@code kworker/N:M}), once completed. */
    public int workerCpu = -1;
    public int worker = -1;
    /** False once the item was discarded, so a late worker completion is dropped. */
    public boolean live = true;

    public KvmAsyncPf(long cr2OrGpa, long addr, boolean wakeupAll, int token, long gfn, Arch arch, long setupTime) {
        this.cr2OrGpa = cr2OrGpa;
        this.addr = addr;
        this.wakeupAll = wakeupAll;
        this.token = token;
        this.gfn = gfn;
        this.arch = arch;
        this.setupTime = setupTime;
    }

    public long tokenUnsigned() {
        return Integer.toUnsignedLong(token);
    }
}
