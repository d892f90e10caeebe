package dev.apfsim.bench;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceSink;

import java.lang.management.ManagementFactory;
import java.util.function.Function;

/**
 * One timed model run: wall time (of {@code run()} and closing its outputs), simulated time, engine events,
 * completed async PF cycles and the bytes this thread allocated meanwhile
 * ({@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes}).
 */
record Measured(long wallNs, long simulatedNs, long events, long asyncPfs, long allocatedBytes, RunResult result) {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Runs {@code s}, with the sink {@code output} makes for the machine attached (null: none). */
    static Measured run(Scenario s, Function<Machine, TraceSink> output) {
        Machine m = new Machine(s);
        TraceSink sink = output == null ? null : output.apply(m);
        if (sink != null) {
            m.attach(sink);
        }
        long thread = Thread.currentThread().threadId();
        long a0 = THREADS.getThreadAllocatedBytes(thread);
        long t0 = System.nanoTime();
        RunResult r = m.run();
        if (sink != null) {
            sink.close();
        }
        long wall = System.nanoTime() - t0;
        long allocated = THREADS.getThreadAllocatedBytes(thread) - a0;
        return new Measured(wall, r.simulatedNs(), r.events(), asyncPfCycles(r), allocated, r);
    }

    /**
     * Async PF cycles completed: each work item whose page-ready was consumed ({@code page_ready}, less the
     * wake-alls, which have no fault behind them).
     */
    static long asyncPfCycles(RunResult r) {
        return r.counter("page_ready") - r.counter("wake_alls");
    }

    double eventsPerSecond() {
        return events / (wallNs / 1e9);
    }

    /** Simulated seconds per wall second: how many times faster than real time. */
    double realTimeFactor() {
        return simulatedNs / (double) wallNs;
    }

    double bytesPerEvent() {
        return allocatedBytes / (double) events;
    }

    double eventsPerAsyncPf() {
        return events / (double) Math.max(1, asyncPfs);
    }

    /** The faster of two measurements of the same thing. */
    static Measured best(Measured a, Measured b) {
        return a == null || b.wallNs < a.wallNs ? b : a;
    }
}
