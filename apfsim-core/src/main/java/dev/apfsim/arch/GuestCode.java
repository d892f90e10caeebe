package dev.apfsim.arch;

/**
 * What runs inside one vCPU, as the host sees it: it runs until an exit and takes the events hardware delivers.
 * Each architecture's own entry points (x86 exceptions, arm64 data aborts and SDEI events, s390 external
 * interrupts) extend this in its package.
 */
public interface GuestCode {
    /** Runs the guest from {@code now}; inline execution must not pass {@code horizon}. */
    GuestExit run(long now, long horizon);

    /** The host kicked the vCPU out at {@code now}: account the partial compute. */
    void preempt(long now);

    /**
     * The end of the compute step the guest is in the middle of (its next instruction boundary of its own), or -1
     * when it is not inside one.
     */
    long computeEnd();

    /**
     * Exit ({@link GuestExit.ExternalInterrupt}) at the {@code k}-th next instruction boundary, the end of the current
     * compute step being the first, unless the guest exits before (or is kicked out) anyway; of two held-back
     * kicks the earlier boundary counts.
     */
    void exitAtBoundary(int k);

    /** An interrupt from the interrupt controller enters the guest. */
    void deliverInterrupt(long now, int vector);

    /** The vCPU was reset: the CPU restarts. */
    void reset(long now);
}
