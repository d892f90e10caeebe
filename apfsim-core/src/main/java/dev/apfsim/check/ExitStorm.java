package dev.apfsim.check;

import java.util.function.IntToLongFunction;

/**
 * {@code exit-storm}: a vCPU that keeps exiting at a high rate while its guest makes no progress — no event
 * injected, no block, no task on it fetching a script step, finishing an operation or ending — burns a host CPU
 * for nothing (the busy-HLT class: cloud-hypervisor #2277, Firecracker #3043). The exits are counted in
 * tumbling windows of {@link #EXITS}: a window that fills within {@link #WINDOW_NS} of simulated time with no
 * progress is the storm; a slower one starts the next window.
 */
final class ExitStorm {
    /** Exits with no progress that make a storm: five times fewer than {@code hlt-busy-loop} needs. */
    static final long EXITS = 20_000;
    /** ... when they come within this much simulated time, i.e. at 20,000 exits per second or more. */
    static final long WINDOW_NS = 1_000_000_000;
    /** The guest's progress is read every this many exits (reading it walks the CPU's tasks); divides EXITS. */
    private static final int SAMPLE_EVERY = 250;

    private final Monitor monitor;
    /** Progress of the guest tasks of a CPU: grows with every script step, operation and task end. */
    private final IntToLongFunction guestProgress;
    private final long[] exits;
    private final long[] hlts;
    private final long[] start;
    private final long[] mark;
    private final boolean[] reported;

    ExitStorm(Monitor monitor, int vcpus, IntToLongFunction guestProgress) {
        this.monitor = monitor;
        this.guestProgress = guestProgress;
        this.exits = new long[vcpus];
        this.hlts = new long[vcpus];
        this.start = new long[vcpus];
        this.mark = new long[vcpus];
        this.reported = new boolean[vcpus];
        java.util.Arrays.fill(start, -1);
    }

    /** An event was injected into the vCPU, or it blocked: not a storm. */
    void progress(int vcpu) {
        start[vcpu] = -1;
    }

    void hlt(int vcpu) {
        hlts[vcpu]++;
    }

    void exit(int vcpu) {
        long now = monitor.now();
        if (start[vcpu] < 0) {
            open(vcpu, now);
        }
        long n = ++exits[vcpu];
        if (n % SAMPLE_EVERY != 0) {
            return;
        }
        long p = guestProgress.applyAsLong(vcpu);
        if (p != mark[vcpu]) {
            open(vcpu, now);
        } else if (n >= EXITS) {
            long span = now - start[vcpu];
            if (span <= WINDOW_NS && !reported[vcpu]) {
                reported[vcpu] = true;
                double ms = span / 1e6;
                monitor.violation(vcpu, Invariant.EXIT_STORM, String.format(
                        "%d exits in %.3f simulated ms (%.0f exits/s, %d of them HLT) with no progress", n, ms,
                        n / Math.max(span / 1e9, 1e-9), hlts[vcpu]));
            }
            open(vcpu, now);
        }
    }

    private void open(int vcpu, long now) {
        start[vcpu] = now;
        exits[vcpu] = 0;
        hlts[vcpu] = 0;
        mark[vcpu] = guestProgress.applyAsLong(vcpu);
    }
}
