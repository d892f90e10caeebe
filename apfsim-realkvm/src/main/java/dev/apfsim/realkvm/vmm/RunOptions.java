package dev.apfsim.realkvm.vmm;

/**
 * @param timeLimitNs wall time after which the watchdog stops every vCPU still running
 * @param trace capture the kvm tracepoints in a private tracefs instance
 */
public record RunOptions(long timeLimitNs, boolean trace) {
    public static RunOptions ofMillis(long ms) {
        return new RunOptions(ms * 1_000_000, true);
    }
}
