package dev.apfsim.bench;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;

import java.util.SplittableRandom;

/**
 * The baseline: the engine's own event loop with a trivial handler that keeps a fixed number of events pending,
 * each rescheduling itself a random delay ahead. Model throughput is reported as a ratio against this.
 */
public final class BareLoop implements EventHandler {
    private final Simulator sim;
    private final SplittableRandom random;
    private long sink;

    public BareLoop(long seed, int pending) {
        this.sim = new Simulator(seed);
        this.random = sim.random().stream("bare");
        for (int i = 0; i < pending; i++) {
            sim.after(1 + random.nextLong(10_000), this, i, i);
        }
    }

    @Override
    public void onEvent(int code, long arg) {
        sink += arg;
        sim.after(1 + random.nextLong(10_000), this, code, arg + 1);
    }

    /** Runs until {@code events} events were processed; returns the count. */
    public long run(long events) {
        long until = 0;
        while (sim.eventCount() < events) {
            until += 10_000_000;
            sim.run(until);
        }
        return sim.eventCount() + (sink & 0);
    }
}
