package dev.apfsim.kvm.x86;

/**
 * Design variants argued in the seed threads, one field each; {@link #linux612()} is Linux 6.12-stable.
 *
 * @param pageReadyDelivery  how page-ready reaches the guest (seed 001, May 2020; {@code kvm_arch_async_page_present})
 * @param cr0PgToggle        what a CR0.PG change does to outstanding items (seed 003, November 2010; {@code kvm_post_set_cr0})
 * @param deliverWhenPagingOff inject async #PF while CR0.PG=0 (true before ~5.18)
 * @param prefault           which MMU context a completed item may be prefaulted in (seed 003, c4806acdcec0)
 * @param lapicDisabledFix   don't dequeue page-ready while the LAPIC is software-disabled (2f15d027c05f)
 * @param tokenWrapFix       skip token 0 when the id counter wraps (6f3c1fc53d86)
 * @param errorPolicy        what the host does when the worker's GUP fails (seed 004)
 * @param nestedAsyncPf      how an async #PF taken while L2 runs reaches L1 (seed 000)
 * @param nestedPendingSave  how a pending nested async #PF is saved for migration (seed 000, June 2017)
 * @param pageReadyWaitsForAck a page-ready is dequeued only once the guest acknowledged the previous one (no
 *                           {@code pageready_pending}), not as soon as the token slot is free: closes the window
 *                           between the guest's token clear and its ACK (docs/findings.md); not in any kernel
 */
public record X86Policy(PageReadyDelivery pageReadyDelivery, Cr0PgToggle cr0PgToggle, boolean deliverWhenPagingOff,
                        PrefaultContext prefault, boolean lapicDisabledFix, boolean tokenWrapFix,
                        ErrorPolicy errorPolicy, NestedAsyncPf nestedAsyncPf, NestedPendingSave nestedPendingSave,
                        boolean pageReadyWaitsForAck) {

    public X86Policy(PageReadyDelivery pageReadyDelivery, Cr0PgToggle cr0PgToggle, boolean deliverWhenPagingOff,
                     PrefaultContext prefault, boolean lapicDisabledFix, boolean tokenWrapFix,
                     ErrorPolicy errorPolicy, NestedAsyncPf nestedAsyncPf, NestedPendingSave nestedPendingSave) {
        this(pageReadyDelivery, cr0PgToggle, deliverWhenPagingOff, prefault, lapicDisabledFix, tokenWrapFix,
                errorPolicy, nestedAsyncPf, nestedPendingSave, false);
    }

    public X86Policy(PageReadyDelivery pageReadyDelivery, Cr0PgToggle cr0PgToggle, boolean deliverWhenPagingOff,
                     PrefaultContext prefault, boolean lapicDisabledFix, boolean tokenWrapFix,
                     ErrorPolicy errorPolicy) {
        this(pageReadyDelivery, cr0PgToggle, deliverWhenPagingOff, prefault, lapicDisabledFix, tokenWrapFix,
                errorPolicy, NestedAsyncPf.VMEXIT, NestedPendingSave.AS_PF);
    }

    /**
     * Seed 000. {@code VMEXIT}: "Async #PF in L2 is always forwarded to L1 as a VM-Exit" (adfe20fb4878, 4.13,
     * {@code kvm_inject_page_fault}); {@code INJECT_L2}: before it, the #PF was injected into whatever ran — L2.
     */
    public enum NestedAsyncPf { VMEXIT, INJECT_L2 }

    /**
     * Seed 000, Radim Krčmář's review. {@code AS_PF}: merged behaviour (and 6.12): a pending nested async #PF is
     * saved by KVM_GET_VCPU_EVENTS as an ordinary #PF with the token as payload, so after restore L2 may receive
     * it; {@code ASYNC_FLAG}: Wanpeng Li's v2/v3 {@code async_page_fault} byte in {@code struct kvm_vcpu_events};
     * {@code EXIT_AT_QUEUE}: Radim's option 1, "do the nested VM exit sooner, at the place where we now queue #PF".
     */
    public enum NestedPendingSave { AS_PF, ASYNC_FLAG, EXIT_AT_QUEUE }

    public enum PageReadyDelivery { INTERRUPT, PF_LEGACY }

    public enum Cr0PgToggle { KEEP, CLEAR_QUEUE }

    public enum PrefaultContext { SAME_CONTEXT, ANY_CONTEXT }

    /** Seed 004: {@code ignore} is 6.12; the others are the fixes argued on the list (June 2020). */
    public enum ErrorPolicy { IGNORE, ERROR_GFN, ERROR_GFN_HASH, EFAULT_REQUEST, INJECT_ERROR }

    public static X86Policy linux612() {
        return new X86Policy(PageReadyDelivery.INTERRUPT, Cr0PgToggle.KEEP, false, PrefaultContext.SAME_CONTEXT,
                true, true, ErrorPolicy.IGNORE, NestedAsyncPf.VMEXIT, NestedPendingSave.AS_PF);
    }
}
