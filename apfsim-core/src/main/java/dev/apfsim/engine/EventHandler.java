package dev.apfsim.engine;

/** Receives the events it scheduled; {@code code} and {@code arg} say which and what, so no event object is allocated. */
@FunctionalInterface
public interface EventHandler {
    /** The footprint of an event that may touch state of any part of the machine. */
    int SHARED = -1;

    void onEvent(int code, long arg);

    /**
     * What this handler's events touch, for the checker's partial-order reduction ({@link Choices.Point#EVENT_ORDER}
     * alternatives are named by it): {@link #SHARED}, or {@link #local} — the state of one vCPU and of one host CPU;
     * what else a step touches it reports itself ({@link Simulator#touch}).
     */
    default int footprint() {
        return SHARED;
    }

    /** A footprint: the state of vCPU {@code vcpu} and of host CPU {@code hostCpu}. */
    static int local(int vcpu, int hostCpu) {
        return hostCpu << 12 | vcpu;
    }
}
