package dev.apfsim.cli;

import dev.apfsim.trace.TraceSink;

import dev.apfsim.engine.Simulator;

import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Trace files being written, and the run writing them. On Ctrl-C (SIGINT/SIGTERM) the JVM shutdown hook first asks
 * the run in progress to stop and waits (at most {@link #REPORT_WAIT_S} s) until it has closed its files and said
 * where it stopped; then it closes whatever is still open, so a trace always ends valid, in a whole line (or, for
 * JSON, in its closing brackets).
 */
final class TraceFiles {
    private static final Set<TraceSink> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean hooked;
    private static final long REPORT_WAIT_S = 10;
    private static volatile Simulator running;
    private static volatile CountDownLatch reported;

    private TraceFiles() {
    }

    /** {@code sim} is about to run: Ctrl-C interrupts it, and waits for {@link #runReported()}. */
    static void runStarted(Simulator sim) {
        hook();
        reported = new CountDownLatch(1);
        running = sim;
    }

    /** The run's result (complete or interrupted) has been printed; the shutdown may go on. */
    static void runReported() {
        running = null;
        CountDownLatch l = reported;
        if (l != null) {
            l.countDown();
        }
    }

    static void register(TraceSink w) {
        hook();
        OPEN.add(w);
    }

    private static void hook() {
        if (!hooked) {
            synchronized (TraceFiles.class) {
                if (!hooked) {
                    Runtime.getRuntime().addShutdownHook(new Thread(TraceFiles::closeAll, "apfsim-trace-close"));
                    hooked = true;
                }
            }
        }
    }

    static void unregister(TraceSink w) {
        OPEN.remove(w);
    }

    private static void closeAll() {
        Simulator sim = running;
        CountDownLatch l = reported;
        if (sim != null && l != null) {
            sim.requestInterrupt(); // the run ends at its next check, closes its files and prints where it stopped
            try {
                l.await(REPORT_WAIT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (TraceSink w : OPEN) {
            try {
                w.close(); // takes the writer's lock: a line being written is finished first
            } catch (RuntimeException e) {
                System.err.println("apfsim: " + e.getMessage());
            }
        }
    }
}
