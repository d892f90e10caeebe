package dev.apfsim.memory;

import org.agrona.collections.Long2LongHashMap;

/**
 * The few guest-physical words that host and guest both read and write: the APF control areas. Accesses outside
 * the memslot fail, as {@code kvm_write_guest_offset_cached} does after a bad GPA.
 */
public final class GuestRam {
    private final long size;
    /** Non-zero words by GPA (primitive keys: the page-ready path reads and writes them every time); 0 when absent. */
    private final Long2LongHashMap words = new Long2LongHashMap(0);

    private dev.apfsim.engine.Simulator sim;

    public GuestRam(long sizeBytes) {
        this.size = sizeBytes;
    }

    /** Reports every access to {@code sim}'s access recorder (the checker's partial-order reduction). */
    public void reportTo(dev.apfsim.engine.Simulator s) {
        this.sim = s;
    }

    private void touch(long gpa) {
        if (sim != null) {
            sim.touch(dev.apfsim.engine.Access.GUEST_RAM | (gpa >>> 6));
        }
    }

    public boolean valid(long gpa) {
        return gpa >= 0 && gpa + 4 <= size;
    }

    /** Returns false when the GPA is outside guest memory. */
    public boolean write32(long gpa, int value) {
        if (!valid(gpa)) {
            return false;
        }
        touch(gpa);
        if (value == 0) {
            words.remove(gpa);
        } else {
            words.put(gpa, value);
        }
        return true;
    }

    /** Writes a doubleword big-endian (s390): the high word at {@code gpa}. */
    public boolean write64(long gpa, long value) {
        return valid(gpa + 4) && write32(gpa, (int) (value >>> 32)) && write32(gpa + 4, (int) value);
    }

    /** Reads a big-endian doubleword (s390). */
    public long read64(long gpa) {
        return ((long) read32(gpa) << 32) | Integer.toUnsignedLong(read32(gpa + 4));
    }

    /** Reads a word; callers check {@link #valid} first when a failed read matters. */
    public int read32(long gpa) {
        touch(gpa);
        return (int) words.get(gpa);
    }
}
