package dev.apfsim.sim;

/** How a run ended. */
public sealed interface Outcome {
    /** Stable word for JSON and tables. */
    String kind();

    record Ok() implements Outcome {
        public String kind() {
            return "ok";
        }
    }

    record GuestPanic(long timeNs, int cpu, String message) implements Outcome {
        public String kind() {
            return "guest_panic";
        }
    }

    /** KVM_RUN failed and the VMM stopped the VM ("kvm run failed Bad address" for EFAULT). */
    record VmStopped(long timeNs, int vcpu, String reason, int errno, long gfn) implements Outcome {
        public String kind() {
            return "vm_stopped";
        }
    }

    /**
     * The same gfn took {@code retries} async faults without ever being mapped: the endless retry loop of
     * seed 004. {@code firstToken}/{@code lastToken} show the token climbing.
     */
    record LivelockSuspected(long timeNs, int vcpu, long gfn, long retries, double cyclesPerSecond,
                             long firstToken, long lastToken) implements Outcome {
        public String kind() {
            return "livelock_suspected";
        }
    }

    /**
     * The run stopped making progress: {@link dev.apfsim.engine.Simulator#MAX_STEPS_PER_INSTANT} steps at one
     * simulated instant (a loop that takes no simulated time, e.g. every host and guest cost set to 0).
     */
    record NoProgress(long timeNs, long events) implements Outcome {
        public String kind() {
            return "no_progress";
        }
    }

    /** The user interrupted the run (Ctrl-C, SIGTERM): the figures are those of the run so far. */
    record Interrupted(long timeNs, long events) implements Outcome {
        public String kind() {
            return "interrupted";
        }
    }
}
