package dev.apfsim.kvm.x86;

/**
 * Design variants argued in the seed threads, one field each; {@link #linux612()} is Linux 6.12-stable.
 *
 * @param pageReadyDelivery  how page-ready reaches the guest (seed 001, REFERENCE §2.9)
 * @param cr0PgToggle        what a CR0.PG change does to outstanding items (seed 003, REFERENCE §5.3)
 * @param deliverWhenPagingOff inject async #PF while CR0.PG=0 (true before ~5.18)
 * @param prefault           which MMU context a completed item may be prefaulted in (seed 003, c4806acdcec0)
 * @param lapicDisabledFix   don't dequeue page-ready while the LAPIC is software-disabled (2f15d027c05f)
 * @param tokenWrapFix       skip token 0 when the id counter wraps (6f3c1fc53d86)
 * @param errorPolicy        what the host does when the worker's GUP fails (seed 004)
 */
public record X86Policy(PageReadyDelivery pageReadyDelivery, Cr0PgToggle cr0PgToggle, boolean deliverWhenPagingOff,
                        PrefaultContext prefault, boolean lapicDisabledFix, boolean tokenWrapFix,
                        ErrorPolicy errorPolicy) {

    public enum PageReadyDelivery { INTERRUPT, PF_LEGACY }

    public enum Cr0PgToggle { KEEP, CLEAR_QUEUE }

    public enum PrefaultContext { SAME_CONTEXT, ANY_CONTEXT }

    /** Seed 004: {@code ignore} is 6.12; the others are the fixes argued on the list (REFERENCE §9.5). */
    public enum ErrorPolicy { IGNORE, ERROR_GFN, ERROR_GFN_HASH, EFAULT_REQUEST, INJECT_ERROR }

    public static X86Policy linux612() {
        return new X86Policy(PageReadyDelivery.INTERRUPT, Cr0PgToggle.KEEP, false, PrefaultContext.SAME_CONTEXT,
                true, true, ErrorPolicy.IGNORE);
    }
}
