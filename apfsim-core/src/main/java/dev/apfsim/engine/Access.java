package dev.apfsim.engine;

/**
 * What an event reads or writes beyond its own actor, for the checker's partial-order reduction: each component
 * reports the shared objects a step touches ({@link Simulator#touch}), and two events due at one instant commute
 * when the objects they touched, run in the scenario's own order, are disjoint ({@link #conflict}). An object is a
 * kind in the top byte and an id below it. Recording is off except under {@code check --strategy exhaustive --por}.
 */
public final class Access {
    public static final long VCPU = 1L << 56;
    public static final long HOST_CPU = 2L << 56;
    /** One guest frame's host state (mapped, resident, in flight, its accessed bit). */
    public static final long PAGE = 3L << 56;
    /** Host reclaim: the resident count and the CLOCK hand, which may evict any frame. */
    public static final long MEMORY = 4L << 56;
    public static final long DEVICE = 5L << 56;
    /** 64 bytes of guest RAM (the shared APF areas are a few words each, side by side). */
    public static final long GUEST_RAM = 6L << 56;
    /** The guest's {@code async_pf_sleepers[]}, shared by its CPUs. */
    public static final long SLEEPERS = 7L << 56;
    /** s390: the VM's floating interrupts ({@code kvm->arch.float_int}), which any vCPU may take. */
    public static final long S390_FLIC = 9L << 56;
    /** s390: the guest's {@code pfault_list}, shared by its CPUs. */
    public static final long S390_PFAULT_LIST = 10L << 56;
    /** The checker's perturbation budget and cue decisions, shared by the vCPUs whose async PFs cue them. */
    public static final long PERTURBATIONS = 11L << 56;
    /** Anything: the step of a handler without a footprint of its own. */
    public static final long ALL = 8L << 56;

    private static final long KIND = 0xffL << 56;

    private Access() {
    }

    /** Receives, for the events it watches, every object they touch. */
    public interface Recorder {
        /** Whether the touches of the event with sequence number {@code seq} are wanted. */
        boolean watches(long seq);

        /** A watched event's step begins (what it touches follows). */
        void started(long seq);

        void touched(long seq, long object);
    }

    /** The objects an event with static footprint {@code footprint} touches by being its handler's step. */
    public static long[] ofFootprint(int footprint) {
        if (footprint == EventHandler.SHARED) {
            return new long[]{ALL};
        }
        return new long[]{VCPU | (footprint & 0xfff), HOST_CPU | (footprint >>> 12)};
    }

    /** Whether two touched objects make two events' orders differ. */
    public static boolean conflict(long a, long b) {
        if (a == ALL || b == ALL || a == b) {
            return true;
        }
        long ka = a & KIND;
        long kb = b & KIND;
        return ka == MEMORY && kb == PAGE || ka == PAGE && kb == MEMORY;
    }

    /** Whether two sets of touched objects are free of conflicts. */
    public static boolean disjoint(java.util.Collection<Long> a, java.util.Collection<Long> b) {
        for (long x : a) {
            for (long y : b) {
                if (conflict(x, y)) {
                    return false;
                }
            }
        }
        return true;
    }
}
