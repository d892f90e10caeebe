package dev.apfsim.kvm;

/** One outstanding async page fault: {@code struct kvm_async_pf} with its x86 {@code kvm_arch_async_pf} part. */
public final class KvmAsyncPf {
    /** Faulting address: a GVA under shadow paging, a GPA (or L2 GPA) under TDP. */
    public final long cr2OrGpa;
    /** Host virtual address of the page. */
    public final long addr;
    public final boolean wakeupAll;
    /** {@code arch.token}; rewritten to ~0 for wake-all items by {@code kvm_arch_async_page_present}. */
    public int token;
    public final long gfn;
    /** Guest PGD at fault time ({@code arch.cr3}). */
    public final long cr3;
    /** MMU was direct (TDP) at fault time ({@code arch.direct_map}). */
    public final boolean directMap;
    /** Fault was taken while L2 ran (for nested prefault checks). */
    public final boolean guestMode;
    public final long errorCode;
    public boolean notpresentInjected;
    /** GUP result in the worker; Linux 6.12 ignores it, the error policies of seed 004 do not. */
    public int workerErrno;
    public final long setupTime;
    /** False once the item was discarded, so a late worker completion is dropped. */
    public boolean live = true;

    public KvmAsyncPf(long cr2OrGpa, long addr, boolean wakeupAll, int token, long gfn, long cr3, boolean directMap,
                      boolean guestMode, long errorCode, long setupTime) {
        this.cr2OrGpa = cr2OrGpa;
        this.addr = addr;
        this.wakeupAll = wakeupAll;
        this.token = token;
        this.gfn = gfn;
        this.cr3 = cr3;
        this.directMap = directMap;
        this.guestMode = guestMode;
        this.errorCode = errorCode;
        this.setupTime = setupTime;
    }

    public long tokenUnsigned() {
        return Integer.toUnsignedLong(token);
    }
}
