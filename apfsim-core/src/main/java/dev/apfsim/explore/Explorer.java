package dev.apfsim.explore;

import dev.apfsim.check.Invariant;
import dev.apfsim.check.Violation;
import dev.apfsim.check.CheckSpec;
import dev.apfsim.perturb.Perturbation;

import dev.apfsim.engine.RandomStreams;
import dev.apfsim.guest.Action;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.workload.TaskSpec;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;

/**
 * Schedule exploration: many runs of one scenario, each perturbed deterministically from its own seed (device
 * latencies, the order of simultaneous events, jitter of scripted steps, injected dangerous events placed just
 * before completions), stopping at the first broken invariant and shrinking it. Runs go in batches over a
 * thread pool; the finding is the lowest-numbered violating run, so the answer does not depend on the number
 * of threads.
 */
public final class Explorer {
    public record Options(int runs, long seed, int jobs, int shrinkBudget) {
    }

    /** A violation found and shrunk. */
    public record Finding(long runIndex, long runSeed, Violation violation, RunCase original, RunCase minimal,
                          int shrinkAttempts, long wallNsToFind) {
    }

    public record Report(int runsDone, Finding finding, Map<Invariant, Integer> violationsInBatch, long wallNs) {
        public double runsPerSecond() {
            return wallNs == 0 ? 0 : runsDone / (wallNs / 1e9);
        }
    }

    private static final int BATCH = 64;

    private Explorer() {
    }

    /** The scenario of run {@code index}: everything that varies derives from {@code seed} and the index. */
    public static Scenario runScenario(Scenario base, long seed, long index) {
        long runSeed = RandomStreams.mix(seed * 0x9E3779B97F4A7C15L + index + 1);
        SplittableRandom r = new SplittableRandom(runSeed);
        Scenario s = base.withSeed(runSeed);
        CheckSpec spec = base.check();
        s = jitter(s, r, spec.jitter());
        List<Perturbation> ps = new ArrayList<>(spec.perturbations());
        if (!spec.perturbKinds().isEmpty() && spec.maxPerturbations() > 0) {
            Hot hot = hotSpots(s);
            int n = 1 + r.nextInt(spec.maxPerturbations());
            for (int i = 0; i < n; i++) {
                Perturbation.Kind kind = spec.perturbKinds().get(r.nextInt(spec.perturbKinds().size()));
                long at;
                boolean afterSetup = kind == Perturbation.Kind.MIGRATE || kind == Perturbation.Kind.REGULAR_PF;
                List<Long> spots = afterSetup ? hot.notPresent() : hot.completions();
                if (!spots.isEmpty() && r.nextDouble() < 0.8) {
                    at = afterSetup
                            // just after an async #PF was set up: a migration before it reaches the guest, or
                            // a regular #PF right after an async one
                            ? spots.get(r.nextInt(spots.size())) + 1 + r.nextLong(3_000)
                            // just before a completion: the window the seed threads worry about
                            : Math.max(0, spots.get(r.nextInt(spots.size())) - r.nextLong(200_000));
                } else {
                    at = r.nextLong(Math.max(1, s.durationNs()));
                }
                long dur = 10_000 + r.nextLong(2_000_000);
                ps.add(new Perturbation(at, r.nextInt(s.vcpus()), kind, dur));
            }
            ps.sort((a, b) -> Long.compare(a.timeNs(), b.timeNs()));
        }
        long schedule = RandomStreams.mix(runSeed ^ 0x5DEECE66DL) | 1;
        return s.withCheck(spec.withRun(schedule, ps));
    }

    private static Scenario jitter(Scenario s, SplittableRandom r, double j) {
        if (j <= 0) {
            return s;
        }
        List<TaskSpec> tasks = new ArrayList<>();
        for (TaskSpec t : s.tasks()) {
            if (t instanceof TaskSpec.Scripted sc) {
                List<Action> steps = new ArrayList<>(sc.steps().size());
                for (Action a : sc.steps()) {
                    if (a instanceof Action.Compute c) {
                        double f = 1 + (r.nextDouble() * 2 - 1) * j;
                        steps.add(new Action.Compute(Math.max(1, Math.round(c.ns() * f))));
                    } else {
                        steps.add(a);
                    }
                }
                tasks.add(new TaskSpec.Scripted(sc.name(), sc.cpu(), List.copyOf(steps)));
            } else {
                tasks.add(t);
            }
        }
        return s.withTasks(tasks);
    }

    /** Times in an unperturbed run where perturbations do most harm. */
    private record Hot(List<Long> completions, List<Long> notPresent) {
    }

    /** Worker completions and async PF set-ups of an unperturbed run of {@code s}. */
    private static Hot hotSpots(Scenario s) {
        Machine m = new Machine(s);
        List<Long> completions = new ArrayList<>();
        List<Long> notPresent = new ArrayList<>();
        m.attach(e -> {
            if (e instanceof TraceEvent.Completed && completions.size() < 256) {
                completions.add(e.time());
            } else if (e instanceof TraceEvent.NotPresent && notPresent.size() < 256) {
                notPresent.add(e.time());
            }
        });
        m.run();
        return new Hot(completions, notPresent);
    }

    public static Report explore(Scenario base, Options o, LongConsumer progress) throws Exception {
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, o.jobs()));
        try {
            int done = 0;
            while (done < o.runs()) {
                int n = Math.min(BATCH, o.runs() - done);
                List<Future<RunCase>> futures = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    long index = done + i;
                    futures.add(pool.submit(() -> RunCase.run(runScenario(base, o.seed(), index), false)));
                }
                Map<Invariant, Integer> counts = new EnumMap<>(Invariant.class);
                RunCase first = null;
                long firstIndex = -1;
                for (int i = 0; i < n; i++) {
                    RunCase c = futures.get(i).get();
                    if (c.violation() != null) {
                        counts.merge(c.violation().invariant(), 1, Integer::sum);
                        if (first == null) {
                            first = c;
                            firstIndex = done + i;
                        }
                    }
                }
                done += n;
                progress.accept(done);
                if (first != null) {
                    long found = System.nanoTime() - start;
                    RunCase original = RunCase.run(first.scenario(), true);
                    Shrinker sh = new Shrinker(first.violation().invariant(), o.shrinkBudget());
                    RunCase small = sh.shrink(first);
                    RunCase minimal = RunCase.run(small.scenario(), true);
                    Finding f = new Finding(firstIndex, first.scenario().seed(), first.violation(), original, minimal,
                            sh.attempts(), found);
                    return new Report(done, f, counts, System.nanoTime() - start);
                }
            }
            return new Report(done, null, Map.of(), System.nanoTime() - start);
        } finally {
            pool.shutdownNow();
        }
    }
}
