package dev.apfsim.bench;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceSink;

import java.lang.management.ManagementFactory;
import java.util.function.Function;

/**
 * One timed model run: the CPU time of the thread that ran it and the wall time (of {@code run()} and closing its
 * outputs), simulated time, engine events, completed async PF cycles and the bytes the thread allocated meanwhile
 * ({@code com.sun.management.ThreadMXBean}). A run is single-threaded, so its thread's CPU time is what one core
 * spends on it, whatever else the machine is doing; the collector's own threads are not in it.
 */
record Measured(long cpuNs, long wallNs, long simulatedNs, long events, long inlineSteps, long asyncPfs,
                long allocatedBytes, RunResult result) {
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
        long c0 = THREADS.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        RunResult r = m.run();
        if (sink != null) {
            sink.close();
        }
        long wall = System.nanoTime() - t0;
        long cpu = THREADS.getCurrentThreadCpuTime() - c0;
        long allocated = THREADS.getThreadAllocatedBytes(thread) - a0;
        return new Measured(cpu, wall, r.simulatedNs(), r.events(), m.simulator().inlineSteps(), asyncPfCycles(r),
                allocated, r);
    }

    /**
     * Async PF cycles completed: each work item whose page-ready was consumed ({@code page_ready}, less the
     * wake-alls, which have no fault behind them).
     */
    static long asyncPfCycles(RunResult r) {
        return r.counter("page_ready") - r.counter("wake_alls");
    }

    /** This thread's CPU time now (for the bare loop, which is not a model run). */
    static long threadCpuNs() {
        return THREADS.getCurrentThreadCpuTime();
    }

    /** Engine events per second of CPU time. */
    double eventsPerSecond() {
        return events / (cpuNs / 1e9);
    }

    /** Simulated seconds per second of one core: how many times faster than real time. */
    double realTimeFactor() {
        return simulatedNs / (double) cpuNs;
    }

    /** The same against wall time (equal to {@link #realTimeFactor()} on an idle machine). */
    double wallRealTimeFactor() {
        return simulatedNs / (double) wallNs;
    }

    double bytesPerEvent() {
        return allocatedBytes / (double) events;
    }

    double eventsPerAsyncPf() {
        return events / (double) Math.max(1, asyncPfs);
    }

    /** Steps run as continuations, without an engine event ({@code Simulator.continueAt}), per async PF cycle. */
    double inlineStepsPerAsyncPf() {
        return inlineSteps / (double) Math.max(1, asyncPfs);
    }

    /** The faster of two measurements of the same thing. */
    static Measured best(Measured a, Measured b) {
        return a == null || b.cpuNs < a.cpuNs ? b : a;
    }
}
