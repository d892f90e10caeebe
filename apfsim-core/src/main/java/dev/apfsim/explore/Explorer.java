package dev.apfsim.explore;

import dev.apfsim.check.ChoiceSequence;
import dev.apfsim.check.ControlledChoices;
import dev.apfsim.check.Invariant;
import dev.apfsim.check.Violation;
import dev.apfsim.engine.Choices;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;

/**
 * Schedule exploration: many runs of one scenario, each steered at the model's choice points ({@link Choices}) by a
 * strategy — random with swarm cost levels, PCT, or a bounded exhaustive search ({@link Exhaustive}) — stopping at
 * the first broken invariant and shrinking it. Random and PCT runs go over a thread pool; the finding is the
 * lowest-numbered violating run, reported as soon as every lower-numbered run has finished, so the answer does not
 * depend on the number of threads.
 */
public final class Explorer {
    /**
     * @param depth PCT's bug depth d
     * @param bound exhaustive: at most this many decisions that differ from the scenario's own
     * @param maxStates exhaustive: stop (inconclusive) after this many runs
     * @param por exhaustive: partial-order reduction over simultaneous events that touched nothing in common as
     *            they ran ({@link dev.apfsim.engine.Access}; opt-in, docs/invariants.md)
     */
    public record Options(Strategy strategy, int runs, long seed, int jobs, int shrinkBudget, int depth, int bound,
                          int maxStates, boolean por) {
        public Options(Strategy strategy, int runs, long seed, int jobs, int shrinkBudget, int depth, int bound,
                       int maxStates) {
            this(strategy, runs, seed, jobs, shrinkBudget, depth, bound, maxStates, false);
        }

        public Options(int runs, long seed, int jobs, int shrinkBudget) {
            this(Strategy.PORTFOLIO, runs, seed, jobs, shrinkBudget, 3, 2, 20_000);
        }
    }

    /**
     * A violation found and shrunk. {@code runIndex} is the first violating run; {@code tracedIndex} the run whose
     * shrunk trace is shown ({@code original} and {@code minimal}): a later violating run of the same invariant
     * when the first one's trace would not shrink below {@link #LONG_TRACE} events. {@code shrinkAttempts} counts
     * every re-run after the finding, those further sampled runs included.
     */
    public record Finding(long runIndex, long runSeed, Violation violation, RunCase original, RunCase minimal,
                          int shrinkAttempts, long wallNsToFind, long tracedIndex) {
        public Finding(long runIndex, long runSeed, Violation violation, RunCase original, RunCase minimal,
                       int shrinkAttempts, long wallNsToFind) {
            this(runIndex, runSeed, violation, original, minimal, shrinkAttempts, wallNsToFind, runIndex);
        }
    }

    /**
     * Protocol events above which a shrunk trace is worth trading the rest of the shrink budget for: the shrinker's
     * moves are positional, so a violation that is a timing coincidence at the n-th round trip of a run keeps its
     * n round trips, while a later violating run may show the same coincidence at the first (docs/benchmarks.md).
     */
    public static final int LONG_TRACE = 30;

    /**
     * What was explored: {@code runsDone} runs, {@code distinctStates} abstract states among them; exhaustive also
     * says whether the bound was exhausted ({@code complete}) and how many alternatives its partial-order
     * reduction left out ({@code porSkipped}, -1 without it); PCT its per-run guarantee.
     */
    public record Report(int runsDone, Finding finding, Map<Invariant, Integer> violationsInBatch, long wallNs,
                         Strategy strategy, long distinctStates, int bound, boolean complete, String guarantee,
                         long porSkipped) {
        public Report(int runsDone, Finding finding, Map<Invariant, Integer> violationsInBatch, long wallNs,
                      Strategy strategy, long distinctStates, int bound, boolean complete, String guarantee) {
            this(runsDone, finding, violationsInBatch, wallNs, strategy, distinctStates, bound, complete, guarantee,
                    -1);
        }

        public Report(int runsDone, Finding finding, Map<Invariant, Integer> violationsInBatch, long wallNs) {
            this(runsDone, finding, violationsInBatch, wallNs, Strategy.PORTFOLIO, 0, 0, false, null);
        }

        public double runsPerSecond() {
            return wallNs == 0 ? 0 : runsDone / (wallNs / 1e9);
        }
    }

    private Explorer() {
    }

    /** Run {@code index} of a portfolio check of {@code base} from {@code seed} (campaigns run it row by row). */
    public static RunCase runCase(Scenario base, long seed, long index, boolean keepTrace) {
        RunPlans.Plan p = RunPlans.plan(base, Strategy.PORTFOLIO, seed, index,
                () -> PCT_PARAMS.computeIfAbsent(base, b -> pctParams(b, 3)));
        return RunCase.run(p.scenario(), p.choices(), keepTrace, null, null);
    }

    private static final Map<Scenario, Pct.Params> PCT_PARAMS = new ConcurrentHashMap<>();

    /** PCT's n (tasks) and k (task decisions of the scenario's own run, at least 1). */
    static Pct.Params pctParams(Scenario base, int depth) {
        int[] k = {0};
        ControlledChoices counting = new ControlledChoices(ChoiceSequence.NONE, Map.of(), (p, n, ids, step) -> {
            if (p == Choices.Point.GUEST_TASK) {
                k[0]++;
            }
            return 0;
        });
        // k from the first 200 ms at most: the steps of a run's start are the ones PCT's change points must hit
        Machine m = new Machine(base.withDuration(Math.min(base.durationNs(), 200_000_000L)), counting);
        m.run();
        return new Pct.Params(Math.max(1, m.guest().tasks().size()), Math.max(1, k[0]), Math.max(1, depth));
    }

    /** The portfolio's exhaustive member: deviations from the scenario's own decisions, and runs at most. */
    static final int MEMBER_BOUND = 1;
    static final int MEMBER_RUNS = 8;

    /**
     * Runs of the portfolio's exhaustive member for {@code base}: a small scenario (at most 2 vCPUs and 4 tasks)
     * gets a bounded systematic search first, at most a quarter of the runs; others none.
     */
    static int exhaustiveMember(Scenario base, int runs) {
        return base.vcpus() <= 2 && base.tasks().size() <= 4 ? Math.min(MEMBER_RUNS, runs / 4) : 0;
    }

    public static Report explore(Scenario base, Options o, LongConsumer progress) throws Exception {
        if (o.strategy() == Strategy.EXHAUSTIVE) {
            return Exhaustive.explore(base, o, progress);
        }
        int member = o.strategy() == Strategy.PORTFOLIO ? exhaustiveMember(base, o.runs()) : 0;
        long start = System.nanoTime();
        if (member == 0) {
            return sampled(base, o, progress, 0, 0, null, start);
        }
        // the exhaustive member takes run indices 0..E-1 (run #0 is the scenario's own), the random and PCT runs
        // the indices after them: the lowest violating index is still the answer, whatever the thread count
        Report e = Exhaustive.explore(base, new Options(Strategy.EXHAUSTIVE, 1, o.seed(), 1, o.shrinkBudget(),
                o.depth(), MEMBER_BOUND, member, true), progress);
        String what = String.format("exhaustive member: bound %d, %,d runs, %,d states%s", MEMBER_BOUND,
                e.runsDone(), e.distinctStates(), e.complete() ? ", exhausted" : "");
        if (e.finding() != null) {
            return new Report(e.runsDone(), e.finding(), e.violationsInBatch(), e.wallNs(), Strategy.PORTFOLIO,
                    e.distinctStates(), 0, false, what);
        }
        int offset = e.runsDone();
        // the sampled runs start at plan #1: plan #0 is the scenario's own run, which the member ran first
        Report r = sampled(base, new Options(o.strategy(), o.runs() - offset, o.seed(), o.jobs(), o.shrinkBudget(),
                o.depth(), o.bound(), o.maxStates(), o.por()), done -> progress.accept(offset + done), offset, 1, what,
                start);
        return new Report(offset + r.runsDone(), r.finding(), r.violationsInBatch(), r.wallNs(),
                Strategy.PORTFOLIO, r.distinctStates(), 0, false, r.guarantee());
    }

    /**
     * Random and PCT runs: the i-th of {@code o.runs()} is plan {@code firstPlan + i}, reported as run
     * {@code offset + i}; times count from {@code start}.
     */
    private static Report sampled(Scenario base, Options o, LongConsumer progress, int offset, int firstPlan,
                                  String member, long start) throws Exception {
        // PCT's k takes a run of its own: made only when a PCT run is planned or a clean result states its guarantee
        LazyPct pct = new LazyPct(base, o.depth());
        Set<Long> states = ConcurrentHashMap.newKeySet();
        Set<Machine> running = ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicBoolean answered = new java.util.concurrent.atomic.AtomicBoolean();
        int jobs = Math.max(1, o.jobs());
        ExecutorService pool = Executors.newFixedThreadPool(jobs);
        try {
            ExecutorCompletionService<Object[]> cs = new ExecutorCompletionService<>(pool);
            boolean[] finished = new boolean[o.runs()];
            Map<Long, RunCase> violating = new HashMap<>();
            Map<Invariant, Integer> counts = new EnumMap<>(Invariant.class);
            long lowest = Long.MAX_VALUE;
            int next = 0;
            int inFlight = 0;
            int prefix = 0; // every run below this index has finished
            while (next < Math.min(o.runs(), 2 * jobs)) {
                submit(cs, base, o, pct, next++, firstPlan, states, running, answered);
                inFlight++;
            }
            while (inFlight > 0) {
                Future<Object[]> f = cs.take();
                inFlight--;
                Object[] done = f.get();
                long index = (Long) done[0];
                RunCase c = (RunCase) done[1];
                finished[(int) index] = true;
                if (c.violation() != null) {
                    counts.merge(c.violation().invariant(), 1, Integer::sum);
                    violating.put(index, c);
                    lowest = Math.min(lowest, index);
                }
                while (prefix < o.runs() && finished[prefix]) {
                    prefix++;
                }
                progress.accept(prefix);
                if (lowest != Long.MAX_VALUE && prefix > lowest) {
                    // every run before the lowest violating one is done: that is the answer, and the runs still in
                    // flight are stopped so that they do not take the cores from the shrinker
                    answered.set(true);
                    running.forEach(m -> m.simulator().requestInterrupt());
                    break;
                }
                if (next < o.runs() && next < lowest) {
                    submit(cs, base, o, pct, next++, firstPlan, states, running, answered);
                    inFlight++;
                }
            }
            pool.shutdownNow();
            // a violation found before any PCT run has nothing to state; a clean result states what its runs give
            String guarantee = o.strategy() == Strategy.RANDOM || (lowest != Long.MAX_VALUE && !pct.made()) ? null
                    : pctGuarantee(pct.get());
            if (member != null) {
                guarantee = member + "; " + guarantee;
            }
            if (lowest == Long.MAX_VALUE) {
                return new Report(prefix, null, Map.of(), System.nanoTime() - start, o.strategy(), states.size(), 0,
                        false, guarantee);
            }
            long found = System.nanoTime() - start;
            RunCase first = violating.get(lowest);
            Finding finding = shorterFrom(base, o, pct, firstPlan, offset, lowest,
                    shrunk(offset + lowest, first, o.shrinkBudget(), found));
            return new Report((int) lowest + 1, finding, counts, System.nanoTime() - start, o.strategy(),
                    states.size(), 0, false, guarantee);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * While the shown trace (not a livelock's lasso) is longer than {@link #LONG_TRACE} and shrink budget is left,
     * the next sampled runs after {@code lowest} are run in order, one at a time (so the result does not depend on
     * the thread count), and the next one breaking the same invariant is shrunk too; the shorter of the two is kept.
     */
    private static Finding shorterFrom(Scenario base, Options o, LazyPct pct, int firstPlan, int offset, long lowest,
                                       Finding f) {
        Invariant target = f.violation().invariant();
        int used = f.shrinkAttempts();
        // a lasso's length is its cycle, which the shrinker already cuts to the cycle of the whole state
        for (long i = lowest + 1; i < o.runs() && used < o.shrinkBudget() && f.minimal().lasso() == null
                && f.minimal().protocolEvents() > LONG_TRACE; i++) {
            used++;
            RunPlans.Plan p = RunPlans.plan(base, o.strategy(), o.seed(), firstPlan + i, pct);
            RunCase c = RunCase.run(p.scenario(), p.choices(), false, null, null);
            if (!c.violates(target)) {
                continue;
            }
            Finding g = shrunk(offset + i, c, o.shrinkBudget() - used, f.wallNsToFind());
            used += g.shrinkAttempts();
            if (g.minimal().protocolEvents() < f.minimal().protocolEvents()) {
                f = new Finding(f.runIndex(), f.runSeed(), g.violation(), g.original(), g.minimal(), used,
                        f.wallNsToFind(), g.runIndex());
            }
        }
        return used == f.shrinkAttempts() ? f : new Finding(f.runIndex(), f.runSeed(), f.violation(), f.original(),
                f.minimal(), used, f.wallNsToFind(), f.tracedIndex());
    }

    static String pctGuarantee(Pct.Params p) {
        return String.format("pct depth %d: n=%d tasks, k=%d steps: each run finds a depth-%d bug with probability "
                        + ">= 1/(n*k^(d-1)) = %.3g; %,d runs give 95%% confidence", p.depth(), p.n(), p.k(), p.depth(),
                p.guarantee(), p.runsFor(0.95));
    }

    private static void submit(ExecutorCompletionService<Object[]> cs, Scenario base, Options o, LazyPct pct,
                               long index, int firstPlan, Set<Long> states, Set<Machine> running,
                               java.util.concurrent.atomic.AtomicBoolean answered) {
        cs.submit(() -> {
            if (answered.get()) {
                return new Object[]{index, null};
            }
            RunPlans.Plan p = RunPlans.plan(base, o.strategy(), o.seed(), firstPlan + index, pct);
            Machine[] mine = new Machine[1];
            try {
                return new Object[]{index, RunCase.run(p.scenario(), p.choices(), false, states, m -> {
                    mine[0] = m;
                    running.add(m);
                    if (answered.get()) {
                        m.simulator().requestInterrupt();
                    }
                })};
            } finally {
                if (mine[0] != null) {
                    running.remove(mine[0]);
                }
            }
        });
    }

    /** PCT's parameters for one exploration, made once, on first use (by whichever thread plans a PCT run). */
    static final class LazyPct implements java.util.function.Supplier<Pct.Params> {
        private final Scenario base;
        private final int depth;
        private Pct.Params params;

        LazyPct(Scenario base, int depth) {
            this.base = base;
            this.depth = depth;
        }

        @Override
        public synchronized Pct.Params get() {
            if (params == null) {
                params = pctParams(base, depth);
            }
            return params;
        }

        synchronized boolean made() {
            return params != null;
        }
    }

    /** Shrinks a violating run (its decisions, then the scenario) and re-runs both ends with traces. */
    static Finding shrunk(long index, RunCase first, int budget, long wallNsToFind) {
        RunCase original = first; // its recorded scenario is what the report compares the minimal one with
        Shrinker sh = new Shrinker(first.violation().invariant(), budget);
        RunCase small = sh.shrink(first);
        RunCase minimal = RunCase.run(small.scenario(), true);
        return new Finding(index, first.scenario().seed(), first.violation(), original, minimal, sh.attempts(),
                wallNsToFind);
    }
}
