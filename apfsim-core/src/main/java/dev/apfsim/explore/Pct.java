package dev.apfsim.explore;

import dev.apfsim.check.ControlledChoices;
import dev.apfsim.engine.Choices;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010) over the guest
 * tasks: each task gets a random distinct priority above d, and at d-1 steps chosen uniformly among the first k
 * task decisions the task then picked drops to priority 1..d-1. Each vCPU runs its highest-priority runnable
 * task. A bug of depth d is found by one run with probability at least 1/(n·k^(d-1)). Other choice points are
 * decided as by the random strategy.
 */
final class Pct implements ControlledChoices.Picker {
    /** n tasks, k task decisions per run (measured on the scenario's own run), depth d. */
    record Params(int n, int k, int depth) {
        double guarantee() {
            return 1 / (n * Math.pow(k, depth - 1));
        }

        /** Runs for which at least one finds a depth-d bug with probability {@code confidence}. */
        long runsFor(double confidence) {
            double p = guarantee();
            return p >= 1 ? 1 : (long) Math.ceil(Math.log(1 - confidence) / Math.log1p(-p));
        }
    }

    private final Map<Integer, Integer> priority = new HashMap<>();
    private final int[] changeAt;
    private final SplittableRandom r;
    private final ControlledChoices.Picker others;
    private final int depth;
    private int taskSteps;

    Pct(Params p, SplittableRandom r, ControlledChoices.Picker others) {
        this.r = r;
        this.others = others;
        this.depth = p.depth();
        this.changeAt = new int[Math.max(0, p.depth() - 1)];
        for (int i = 0; i < changeAt.length; i++) {
            changeAt[i] = r.nextInt(Math.max(1, p.k()));
        }
    }

    private int priorityOf(int task) {
        // distinct random priorities above depth, drawn on first sight (tasks meet the scheduler in a fixed order)
        return priority.computeIfAbsent(task, t -> depth + 1 + r.nextInt(1 << 20));
    }

    @Override
    public int pick(Choices.Point point, int n, int[] ids, int step) {
        if (point != Choices.Point.GUEST_TASK || ids == null) {
            return others.pick(point, n, ids, step);
        }
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (priorityOf(ids[i]) > priorityOf(ids[best])) {
                best = i;
            }
        }
        for (int j = 0; j < changeAt.length; j++) {
            if (changeAt[j] == taskSteps) {
                priority.put(ids[best], j + 1);
            }
        }
        taskSteps++;
        return best;
    }
}
