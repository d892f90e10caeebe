package dev.apfsim.engine;

/**
 * Every nondeterministic decision of a run, asked of one object. The model asks here wherever a real system could
 * go more than one way — which of several simultaneous events runs first, which runnable guest task a vCPU runs
 * next, at which instruction boundary a pending interrupt is taken, when an injected external event happens, how
 * long a cost or a device latency is — and {@link #DEFAULT} answers with the scenario's own values, so a plain
 * {@code run} is what its fingerprint says. The checker substitutes a controlled implementation to drive the
 * model into other schedules; the model never knows which one it has.
 */
public interface Choices {
    /** Where a decision among alternatives is taken; alternative 0 is always what the scenario does by itself. */
    enum Point {
        /** Events due at the same simulated nanosecond: which runs first (0: insertion order). */
        EVENT_ORDER("event-order"),
        /** A vCPU picks its next task among the runnable ones (0: the guest scheduler's own pick). */
        GUEST_TASK("guest-task"),
        /** A host CPU picks its next thread among runnable vCPU threads and kworkers (0: the host's own pick). */
        HOST_THREAD("host-thread"),
        /**
         * A kick (interrupt, request) for a vCPU in guest mode: taken now (0), or at the k-th next instruction
         * boundary of the guest's own execution (k = 1..3, the end of the current compute step being the first),
         * or a boundary 1 µs (4) or 20 µs (5) further inside a compute step.
         */
        IRQ_BOUNDARY("irq-boundary"),
        /** A cost or latency this time: the scenario's value (0), ten times shorter (1) or ten times longer (2). */
        COST_LEVEL("cost-level"),
        /** After an async PF was set up: inject nothing (0) or the scenario's n-th perturbation kind (n). */
        PERTURBATION("perturbation"),
        /** How long after its cue an injected perturbation happens: 1 µs × 4^k. */
        PERTURBATION_DELAY("perturbation-delay");

        private final String key;

        Point(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }
    }

    /** A duration whose length the checker may choose (the scenario's value is the default). */
    enum Cost {
        VM_EXIT("vm-exit"), VM_ENTRY("vm-entry"), HALT_WAKEUP("halt-wakeup"), MINOR_FAULT("minor-fault"),
        WORKER_DISPATCH("worker-dispatch"), DEVICE_LATENCY("device-latency"), GUEST_COMPUTE("guest-compute"),
        /** What an arch exit handler adds to the exit: MSR emulation, EPT-violation/stage-2 handling, port I/O. */
        EXIT_HANDLER("exit-handler");

        private final String key;

        Cost(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }

        public static Cost fromKey(String k) {
            for (Cost c : values()) {
                if (c.key.equals(k)) {
                    return c;
                }
            }
            throw new IllegalArgumentException("unknown cost " + k);
        }
    }

    /**
     * One of {@code n > 1} alternatives at {@code point}, an index in [0, n). {@code ids} names the alternatives
     * where they are threads (task ids, in the order of the alternatives) or events ({@link EventHandler#footprint}
     * of each, for {@link Point#EVENT_ORDER}), else null.
     */
    int pick(Point point, int n, int[] ids);

    /** How long {@code cost} takes this time, the scenario saying {@code value} ns. */
    long cost(Cost cost, long value);

    /** True for {@link #DEFAULT}: callers skip building alternatives nobody will look at. */
    default boolean isDefault() {
        return false;
    }

    /** The scenario's own values: first alternative, exact costs. */
    Choices DEFAULT = new Choices() {
        @Override
        public int pick(Point point, int n, int[] ids) {
            return 0;
        }

        @Override
        public long cost(Cost cost, long value) {
            return value;
        }

        @Override
        public boolean isDefault() {
            return true;
        }
    };
}
