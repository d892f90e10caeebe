package dev.apfsim.memory;

import dev.apfsim.engine.RandomStreams;

/**
 * A way backing memory fails for a range of guest frames (docs/real-host.md; {@code hva_to_pfn}, {@code async_pf_execute}): every frame of
 * [{@code firstGfn}, {@code firstGfn + count}) or a seeded {@code fraction} of them, from {@code fromNs} until
 * {@code untilNs} (exclusive; {@link Long#MAX_VALUE} = permanent).
 */
public record FailureRule(Kind kind, long firstGfn, long count, double fraction, long fromNs, long untilNs) {

    public enum Kind {
        /** Every access raises SIGBUS but the VMA stays valid (userfaultfd SIGBUS mode, truncated DAX file):
         *  {@code hva_to_pfn} still reports "async", the worker's GUP fails, the retry loops. */
        SIGBUS,
        /** The range is unmapped from the VMM (no VMA): no async fault, synchronous EFAULT. */
        UNMAPPED,
        /** Hardware-poisoned page: {@code hva_to_pfn} returns -EHWPOISON, the VMM gets SIGBUS. */
        HWPOISON,
        /** The page never arrives: the worker's GUP blocks forever. */
        NEVER,
        /** The userfault handler wakes the fault at {@code fromNs} without a page; GUP faults again. */
        SPURIOUS_WAKE,
        /** The range is unregistered from userfaultfd at {@code fromNs}: missing pages are zero-filled then. */
        ZERO_FILL
    }

    public boolean covers(long gfn, long seed) {
        if (gfn < firstGfn || gfn - firstGfn >= count) {
            return false;
        }
        if (fraction >= 1.0) {
            return true;
        }
        long h = RandomStreams.mix(seed ^ RandomStreams.mix(gfn) ^ kind.ordinal());
        return (h >>> 11) * 0x1.0p-53 < fraction;
    }

    public boolean activeAt(long now) {
        return now >= fromNs && now < untilNs;
    }
}
