package dev.apfsim.kvm;

import java.util.Arrays;

/**
 * {@code vcpu->arch.apf.gfns}: the 64-slot open-addressing hash of gfns with an outstanding async PF
 * ({@code x86.c}: {@code kvm_add_async_pf_gfn}, {@code kvm_async_pf_gfn_slot}, {@code kvm_del_async_pf_gfn}).
 */
public final class ApfGfnHash {
    public static final int SLOTS = 64; // ASYNC_PF_PER_VCPU, a power of two
    private static final long EMPTY = ~0L;
    private final long[] gfns = new long[SLOTS];

    public ApfGfnHash() {
        reset();
    }

    /** {@code kvm_async_pf_hash_fn}: hash_32(gfn & 0xffffffff, order_base_2(64)). */
    public static int hash(long gfn) {
        int x = (int) (gfn & 0xffffffffL) * 0x61C88647; // GOLDEN_RATIO_32, u32 arithmetic
        return x >>> (32 - 6);
    }

    private static int next(int key) {
        return (key + 1) & (SLOTS - 1);
    }

    /** {@code kvm_async_pf_hash_reset}. */
    public void reset() {
        Arrays.fill(gfns, EMPTY);
    }

    /** {@code kvm_add_async_pf_gfn}: linear probing to the first empty slot. */
    public void add(long gfn) {
        int key = hash(gfn);
        while (gfns[key] != EMPTY) {
            key = next(key);
        }
        gfns[key] = gfn;
    }

    /** {@code kvm_async_pf_gfn_slot}: at most 64 probes, stopping at the gfn or an empty slot. */
    private int slot(long gfn) {
        int key = hash(gfn);
        for (int i = 0; i < SLOTS && gfns[key] != gfn && gfns[key] != EMPTY; i++) {
            key = next(key);
        }
        return key;
    }

    /** {@code kvm_find_async_pf_gfn}. */
    public boolean contains(long gfn) {
        return gfns[slot(gfn)] == gfn;
    }

    /** {@code kvm_del_async_pf_gfn}: backward-shift deletion; returns false (kernel: WARN) if absent. */
    public boolean remove(long gfn) {
        int i = slot(gfn);
        if (gfns[i] != gfn) {
            return false;
        }
        int j = i;
        while (true) {
            gfns[i] = EMPTY;
            int k;
            do {
                j = next(j);
                if (gfns[j] == EMPTY) {
                    return true;
                }
                k = hash(gfns[j]);
                // keep gfns[j] where it is if its home k lies cyclically in (i, j]
            } while ((i <= j) ? (i < k && k <= j) : (i < k || k <= j));
            gfns[i] = gfns[j];
            i = j;
        }
    }

    public int size() {
        int n = 0;
        for (long g : gfns) {
            if (g != EMPTY) {
                n++;
            }
        }
        return n;
    }

    /** Slot contents, for tests; ~0 marks an empty slot. */
    public long slotValue(int i) {
        return gfns[i];
    }
}
