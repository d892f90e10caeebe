package dev.apfsim.check;

import dev.apfsim.engine.Choices;

import java.util.Arrays;
import java.util.Map;

/**
 * The checker's {@link Choices}: replays a recorded prefix of decisions, asks a {@link Picker} (a strategy) for the
 * rest, and records every decision taken, so any run it drives can be replayed from its {@link #taken()} sequence.
 * Costs are scaled by a per-run level per cost (swarm testing: log-uniform steps of ×10^(1/6) within ×[1/10, 10]);
 * the worker's dispatch and device latencies are in addition chosen each time (a {@link Point#COST_LEVEL} decision:
 * the scenario's value, ten times shorter, or ten times longer), the "worker that runs late every time".
 */
public final class ControlledChoices implements Choices {
    /** A strategy: decides the choice points past the replayed prefix. */
    public interface Picker {
        int pick(Point point, int n, int[] ids, int step);
    }

    /**
     * Sees each choice point past the prefix before it is decided (the exhaustive search hashes the state here);
     * {@code ids} as given to {@link Choices#pick}.
     */
    public interface Observer {
        void atChoice(int step, Point point, int n, int[] ids);
    }

    /** Every decision of the replayed prefix, then alternative 0. */
    public static final Picker DEFAULTS = (p, n, ids, step) -> 0;

    public static final int MAX_LEVEL = 6;
    private static final double[] FACTOR = new double[2 * MAX_LEVEL + 1];

    static {
        for (int l = -MAX_LEVEL; l <= MAX_LEVEL; l++) {
            FACTOR[l + MAX_LEVEL] = Math.pow(10, l / (double) MAX_LEVEL);
        }
    }

    private final ChoiceSequence prefix;
    private final Picker picker;
    private final int[] levels = new int[Cost.values().length];
    private Observer observer;
    private int[] taken = new int[64];
    private int steps;

    public ControlledChoices(ChoiceSequence prefix, Map<Cost, Integer> costLevels, Picker picker) {
        this.prefix = prefix;
        this.picker = picker;
        costLevels.forEach((c, l) -> levels[c.ordinal()] = Math.clamp(l, -MAX_LEVEL, MAX_LEVEL));
    }

    public void setObserver(Observer o) {
        this.observer = o;
    }

    /** Decisions taken so far. */
    public int steps() {
        return steps;
    }

    public ChoiceSequence taken() {
        return new ChoiceSequence(Arrays.copyOf(taken, steps));
    }

    @Override
    public int pick(Point point, int n, int[] ids) {
        if (n < 2) {
            return 0;
        }
        int step = steps;
        int choice;
        if (step < prefix.length()) {
            choice = Math.min(prefix.at(step), n - 1);
        } else {
            if (observer != null) {
                observer.atChoice(step, point, n, ids);
            }
            choice = Math.clamp(picker.pick(point, n, ids, step), 0, n - 1);
        }
        if (steps == taken.length) {
            taken = Arrays.copyOf(taken, steps * 2);
        }
        taken[steps++] = choice;
        return choice;
    }

    @Override
    public long cost(Cost cost, long value) {
        if (value <= 0) {
            return value;
        }
        int l = levels[cost.ordinal()];
        double v = l == 0 ? value : value * FACTOR[l + MAX_LEVEL];
        if (cost == Cost.WORKER_DISPATCH || cost == Cost.DEVICE_LATENCY) {
            v *= switch (pick(Point.COST_LEVEL, 3, null)) {
                case 1 -> 0.1;
                case 2 -> 10;
                default -> 1;
            };
        }
        return Math.max(1, Math.round(v));
    }
}
