package dev.apfsim.memory;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;

import java.util.ArrayDeque;
import java.util.SplittableRandom;

/**
 * A device that brings pages in (swap disk, zswap, the post-copy migration source behind a userfault handler):
 * at most {@code depth} requests in service, the rest wait in FIFO order.
 */
public final class BackingDevice implements EventHandler {
    /** Told when a page read finishes. */
    public interface Completion {
        void pageRead(long gfn);
    }

    private static final int DONE = 0;

    private final String name;
    private final LatencyDistribution latency;
    private final int depth;
    private final Simulator sim;
    private final SplittableRandom random;
    private final Completion completion;
    private final Tracer tracer;
    private final ArrayDeque<Long> waiting = new ArrayDeque<>();
    private int inService;
    private long reads;
    private long busyNs;

    /** This device as a shared object of the checker's partial-order reduction ({@link dev.apfsim.engine.Access}). */
    private final long accessId;

    public BackingDevice(String name, LatencyDistribution latency, int depth, Simulator sim, Tracer tracer,
                         Completion completion) {
        this.tracer = tracer;
        this.name = name;
        this.latency = latency;
        this.depth = depth;
        this.sim = sim;
        this.random = sim.random().stream("device:" + name);
        this.accessId = dev.apfsim.engine.Access.DEVICE | (name.hashCode() & 0xffffffL);
        this.completion = completion;
    }

    public String name() {
        return name;
    }

    public void submit(long gfn) {
        sim.touch(accessId); // its queue and latency stream
        if (inService < depth) {
            start(gfn);
        } else {
            waiting.addLast(gfn);
        }
    }

    private void start(long gfn) {
        inService++;
        reads++;
        long ns = sim.choices().cost(dev.apfsim.engine.Choices.Cost.DEVICE_LATENCY, latency.sample(random));
        busyNs += ns;
        if (tracer.timelineWanted()) {
            tracer.emit(new TraceEvent.PageIo(sim.now(), -1, gfn, false, false));
        }
        sim.after(ns, this, DONE, gfn);
    }

    @Override
    public void onEvent(int code, long gfn) {
        inService--;
        if (tracer.timelineWanted()) {
            tracer.emit(new TraceEvent.PageIo(sim.now(), -1, gfn, true, false));
        }
        if (!waiting.isEmpty()) {
            start(waiting.pollFirst());
        }
        completion.pageRead(gfn);
    }

    public long reads() {
        return reads;
    }

    public long busyNs() {
        return busyNs;
    }

    public int queueLength() {
        return waiting.size() + inService;
    }
}
