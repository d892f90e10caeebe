package dev.apfsim.check;

import dev.apfsim.engine.Simulator;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects invariant violations reported by the host and guest models. In {@code run} it records them (the
 * first few hundred) and the run goes on; in {@code check} the first one ends the run.
 */
public final class Monitor {
    private static final int MAX_RECORDED = 200;

    private final Simulator sim;
    private final Tracer tracer;
    private final List<Violation> violations = new ArrayList<>();
    private boolean stopOnFirst;
    private long total;

    public Monitor(Simulator sim, Tracer tracer) {
        this.sim = sim;
        this.tracer = tracer;
    }

    public void setStopOnFirst(boolean stop) {
        this.stopOnFirst = stop;
    }

    /** The engine's clock (for checks that measure simulated time between probes). */
    public long now() {
        return sim.now();
    }

    public void violation(int vcpu, Invariant invariant, String detail) {
        violation(sim.now(), vcpu, invariant, detail);
    }

    /** For reports from guest code running inline ahead of the engine clock. */
    public void violation(long time, int vcpu, Invariant invariant, String detail) {
        total++;
        Violation v = new Violation(time, vcpu, invariant, detail);
        tracer.emit(new TraceEvent.Violation(v.timeNs(), vcpu, invariant.key(), detail));
        if (violations.size() < MAX_RECORDED) {
            violations.add(v);
        }
        if (stopOnFirst) {
            sim.stop();
        }
    }

    public List<Violation> violations() {
        return violations;
    }

    public long total() {
        return total;
    }

    public Violation first() {
        return violations.isEmpty() ? null : violations.getFirst();
    }
}
