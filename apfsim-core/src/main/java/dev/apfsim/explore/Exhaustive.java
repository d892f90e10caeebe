package dev.apfsim.explore;

import dev.apfsim.check.ChoiceSequence;
import dev.apfsim.check.ControlledChoices;
import dev.apfsim.engine.Access;
import dev.apfsim.engine.Choices;
import dev.apfsim.engine.RandomStreams;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.AbstractState;
import dev.apfsim.sim.Machine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Bounded systematic exploration, stateless with state caching: a node is a prefix of decisions; its run replays
 * the prefix and then takes the scenario's own alternative everywhere. At each later choice point the abstract
 * state ({@link AbstractState}, with the kind of decision) is looked up: a state already reached with no more
 * deviations is not explored again — the run stops there, since its continuation was or will be explored from the
 * earlier visit (this also merges interleavings that commute once they reach the same abstract state) — and a new
 * state spawns one child per other alternative while the node has fewer than {@code bound} deviations, except the
 * event orders a partial-order reduction shows equivalent to the default's ({@link #redundant}; {@code --por}
 * explores them too). Breadth-first in the
 * number of deviations, so the first violation found has a shortest list of deviations; a search that empties its
 * queue is a verdict: the invariants hold for every schedule within the bound, over the states it counted.
 */
final class Exhaustive {
    private record Node(ChoiceSequence prefix, int deviations) {
    }

    private Exhaustive() {
    }

    /** Alternatives explored at each point; perturbation delays only at three spreads (1 µs, 64 µs, 4 ms). */
    private static int[] alternatives(Choices.Point p, int n) {
        return switch (p) {
            case PERTURBATION_DELAY -> new int[]{3, 6};
            default -> {
                int[] a = new int[n - 1];
                for (int i = 1; i < n; i++) {
                    a[i - 1] = i;
                }
                yield a;
            }
        };
    }

    /**
     * An {@code event-order} alternative whose reduction is decided after the run: alternative {@code alt} (event
     * {@code alt} first, then the others in their order) at a point where the events {@code seqs} were due.
     */
    private record OrderChild(Node child, long[] seqs, int[] ids, int alt) {
    }

    /**
     * What the events of the current run that were candidates of an event-order decision touched, as they ran in
     * the scenario's own order ({@link Access}): their handler's vCPU and host CPU and every shared object their
     * step reported. Lookups only, never iterated.
     */
    static final class Touches implements Access.Recorder {
        private final Map<Long, java.util.List<Long>> bySeq = new HashMap<>();
        private final Set<Long> watched = new java.util.HashSet<>();

        void watch(long[] seqs) {
            for (long q : seqs) {
                watched.add(q);
            }
        }

        @Override
        public boolean watches(long seq) {
            return watched.contains(seq);
        }

        @Override
        public void started(long seq) {
            bySeq.putIfAbsent(seq, new ArrayList<>());
        }

        @Override
        public void touched(long seq, long object) {
            java.util.List<Long> l = bySeq.get(seq);
            if (l != null && !l.contains(object)) {
                l.add(object);
            }
        }

        /** What event {@code seq} touched, its handler's own state included; null if it did not run. */
        java.util.List<Long> of(long seq, int footprint) {
            java.util.List<Long> l = bySeq.get(seq);
            if (l == null) {
                return null;
            }
            java.util.List<Long> all = new ArrayList<>(l);
            for (long o : Access.ofFootprint(footprint)) {
                all.add(o);
            }
            return all;
        }
    }

    /**
     * Partial-order reduction at an {@code event-order} point: alternative i is the scenario's own order with
     * event i moved before events 0..i-1. If, as they ran in that order, event i touched nothing that any of them
     * touched ({@link Access#conflict}), then run first it reads what it read then and they read what they read
     * then: both orders reach the same state, and the child's later deviations are the default run's. So the child
     * is not explored. An event the run never reached counts as touching everything.
     */
    static boolean redundant(Touches t, long[] seqs, int[] ids, int alt) {
        java.util.List<Long> mine = t.of(seqs[alt], ids[alt]);
        if (mine == null) {
            return false;
        }
        for (int j = 0; j < alt; j++) {
            java.util.List<Long> theirs = t.of(seqs[j], ids[j]);
            if (theirs == null || !Access.disjoint(mine, theirs)) {
                return false;
            }
        }
        return true;
    }

    static Explorer.Report explore(Scenario base, Explorer.Options o, LongConsumer progress) {
        long start = System.nanoTime();
        Scenario s = base.withCheck(base.check().withRun(0, base.check().perturbations())
                .withChoices(ChoiceSequence.NONE, Map.of()));
        Map<Long, long[]> visited = new HashMap<>(); // state -> {fewest deviations, run that first reached it}
        ArrayDeque<Node> queue = new ArrayDeque<>();
        queue.add(new Node(ChoiceSequence.NONE, 0));
        Set<Long> states = new java.util.HashSet<>();
        int runs = 0;
        long[] skipped = {0};
        while (!queue.isEmpty() && runs < o.maxStates()) {
            Node node = queue.poll();
            long run = runs;
            List<Node> children = new ArrayList<>();
            List<OrderChild> orders = new ArrayList<>();
            Touches touches = o.por() ? new Touches() : null;
            ControlledChoices choices = new ControlledChoices(node.prefix(), Map.of(), ControlledChoices.DEFAULTS);
            Machine[] machine = new Machine[1];
            choices.setObserver((step, point, n, ids) -> {
                if (machine[0].simulator().stopped()) {
                    return;
                }
                long h = RandomStreams.mix(AbstractState.hash(machine[0]) * 31 + point.ordinal());
                long[] before = visited.get(h);
                if (before != null && before[1] == run) {
                    return; // this run was here already: its children are queued, its continuation is this run
                }
                if (before != null && before[0] <= node.deviations()) {
                    machine[0].simulator().stop(); // explored from an earlier visit
                    return;
                }
                visited.put(h, new long[]{node.deviations(), run});
                if (node.deviations() < o.bound()) {
                    ChoiceSequence sofar = choices.taken();
                    boolean reducible = touches != null && point == Choices.Point.EVENT_ORDER && ids != null;
                    long[] seqs = reducible ? machine[0].simulator().orderCandidates() : null;
                    if (reducible) {
                        touches.watch(seqs);
                    }
                    for (int alt : alternatives(point, n)) {
                        if (alt < n && reducible) {
                            orders.add(new OrderChild(new Node(sofar.with(step, alt), node.deviations() + 1), seqs,
                                    ids, alt)); // decided once the default order has run
                        } else if (alt < n) {
                            children.add(new Node(sofar.with(step, alt), node.deviations() + 1));
                        }
                    }
                }
            });
            RunCase c = RunCase.run(s, choices, false, states, m -> {
                machine[0] = m;
                if (touches != null) {
                    m.simulator().setAccessRecorder(touches);
                }
            });
            for (OrderChild oc : orders) {
                if (redundant(touches, oc.seqs(), oc.ids(), oc.alt())) {
                    skipped[0]++;
                } else {
                    children.add(oc.child());
                }
            }
            runs++;
            progress.accept(runs);
            if (c.violation() != null) {
                long found = System.nanoTime() - start;
                Explorer.Finding f = Explorer.shrunk(runs - 1, c, o.shrinkBudget(), found);
                return new Explorer.Report(runs, f, Map.of(c.violation().invariant(), 1), System.nanoTime() - start,
                        Strategy.EXHAUSTIVE, visited.size(), o.bound(), false, null, o.por() ? skipped[0] : -1);
            }
            queue.addAll(children);
        }
        return new Explorer.Report(runs, null, Map.of(), System.nanoTime() - start, Strategy.EXHAUSTIVE,
                visited.size(), o.bound(), queue.isEmpty(), null, o.por() ? skipped[0] : -1);
    }
}
