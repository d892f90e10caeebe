package dev.apfsim.explore;

import dev.apfsim.check.Invariant;
import dev.apfsim.perturb.Perturbation;

import dev.apfsim.guest.Action;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.workload.TaskSpec;

import dev.apfsim.check.ChoiceSequence;
import dev.apfsim.engine.Choices;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Map;
import java.util.List;
import java.util.function.Function;

/**
 * Makes a violating scenario smaller while it still breaks the same invariant: a shorter run, fewer injected
 * events, fewer tasks, fewer script steps, fewer vCPUs. Every candidate is re-run from the same seeds, so the
 * result is deterministic.
 */
public final class Shrinker {
    private final Invariant target;
    private final int budget;
    private int attempts;

    public Shrinker(Invariant target, int budget) {
        this.target = target;
        this.budget = budget;
    }

    public int attempts() {
        return attempts;
    }

    public RunCase shrink(RunCase start) {
        RunCase best = start;
        java.util.Set<String> tried = new java.util.HashSet<>(); // membership only, never iterated
        boolean progress = true;
        while (progress && attempts < budget) {
            progress = false;
            // the run need not go on much past its first violation
            long cut = best.violation().timeNs() + best.violation().timeNs() / 10 + 1_000_000;
            if (cut < best.scenario().durationNs()) {
                attempts++;
                RunCase c = RunCase.run(best.scenario().withDuration(cut), false);
                if (c.violates(target)) {
                    best = c;
                }
            }
            for (Function<Scenario, List<Scenario>> step : List.<Function<Scenario, List<Scenario>>>of(
                    this::fewerDeviations, this::fewerCostLevels, this::fewerPerturbations, this::fewerTasks,
                    this::fewerSteps, this::fewerVcpus, this::earlierDeviations, this::smallerDeviations)) {
                for (Scenario candidate : step.apply(best.scenario())) {
                    if (attempts >= budget) {
                        return best;
                    }
                    if (!tried.add(key(candidate))) {
                        continue;
                    }
                    attempts++;
                    RunCase c = RunCase.run(candidate, false);
                    if (c.violates(target) && c.protocolEvents() < best.protocolEvents()) {
                        lastShorter = attempts;
                    } else if (attempts - lastShorter >= STALL) {
                        return fewerDecisions(best, tried); // long without a shorter trace: only tidy up
                    }
                    if (shorter(c, best)) {
                        best = c;
                        progress = true;
                        break;
                    }
                }
            }
        }
        return fewerDecisions(best, tried);
    }

    /**
     * Re-runs without a shorter trace after which the search only tidies up: the moves that keep the length (a
     * lower alternative, a decision moved) rarely open a shorter trace that late, and each costs a run.
     */
    static final int STALL = 30;
    private int lastShorter;

    /**
     * The tidy-up: one sweep over the deviating decisions, the last first; each goes back to the scenario's own
     * when the violation stays as short and as early (a simpler reproducer). A sweep, not a restart per decision.
     */
    private RunCase fewerDecisions(RunCase best, java.util.Set<String> tried) {
        for (int i = best.scenario().check().choices().length() - 1; i >= 0 && attempts < budget; i--) {
            ChoiceSequence now = best.scenario().check().choices();
            if (i >= now.length() || now.at(i) == 0) {
                continue;
            }
            Scenario candidate = withChoices(best.scenario(), now.with(i, 0));
            if (!tried.add(key(candidate))) {
                continue;
            }
            attempts++;
            RunCase r = RunCase.run(candidate, false);
            if (r.violates(target) && r.protocolEvents() <= best.protocolEvents()
                    && r.violation().timeNs() <= best.violation().timeNs()) {
                best = r;
            }
        }
        return best;
    }

    /**
     * What the user reads is the trace to the violation: a candidate is better when it shows the same violation in
     * no more protocol events and no later (a different decision that only moves the violation is also accepted,
     * once: {@code tried} keeps such moves from cycling).
     */
    private boolean shorter(RunCase c, RunCase best) {
        return c.violates(target) && (c.protocolEvents() < best.protocolEvents()
                || c.protocolEvents() == best.protocolEvents() && c.violation().timeNs() <= best.violation().timeNs());
    }

    private static String key(Scenario s) {
        return s.check().choices() + "|" + s.check().costLevels() + "|" + s.check().perturbations() + "|"
                + s.check().scheduleSeed() + "|" + s.tasks() + "|" + s.vcpus() + "|" + s.durationNs();
    }

    /** Decisions back to the scenario's own: all, in chunks, then one at a time (the last ones first). */
    private List<Scenario> fewerDeviations(Scenario s) {
        ChoiceSequence c = s.check().choices();
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < c.length(); i++) {
            if (c.at(i) != 0) {
                at.add(i);
            }
        }
        List<java.util.function.Supplier<Scenario>> out = new ArrayList<>();
        if (at.isEmpty()) {
            return List.of();
        }
        out.add(() -> withChoices(s, ChoiceSequence.NONE));
        // then in halves, quarters and eighths (delta debugging's granularities), then one at a time
        for (int parts = 2; parts <= 8 && at.size() > parts; parts *= 2) {
            for (int k = 0; k < parts; k++) {
                List<Integer> chunk = at.subList(k * at.size() / parts, (k + 1) * at.size() / parts);
                out.add(() -> withChoices(s, zero(c, chunk)));
            }
        }
        for (int k = at.size() - 1; k >= 0; k--) {
            int i = at.get(k);
            out.add(() -> withChoices(s, c.with(i, 0)));
        }
        return lazy(out);
    }

    /**
     * Candidates made only when tried: each holds a copy of the choice sequence, which in a long run has tens of
     * thousands of decisions, so a list of them all at once could fill the heap.
     */
    private static List<Scenario> lazy(List<java.util.function.Supplier<Scenario>> makers) {
        return new java.util.AbstractList<>() {
            @Override
            public Scenario get(int i) {
                return makers.get(i).get();
            }

            @Override
            public int size() {
                return makers.size();
            }
        };
    }

    /**
     * Each deviating decision taken at an earlier choice point: the defaults before it left out (all, then half), so
     * a perturbation cued by the third async PF is tried at the first one.
     */
    private List<Scenario> earlierDeviations(Scenario s) {
        ChoiceSequence c = s.check().choices();
        List<java.util.function.Supplier<Scenario>> out = new ArrayList<>();
        int runStart = 0;
        for (int i = 0; i < c.length(); i++) {
            if (c.at(i) == 0) {
                continue;
            }
            int zeros = i - runStart;
            int from = runStart;
            int to = i;
            if (zeros > 0) {
                out.add(() -> withChoices(s, c.without(from, to)));
                if (zeros > 1) {
                    out.add(() -> withChoices(s, c.without(from, from + zeros / 2)));
                }
            }
            runStart = i + 1;
        }
        return lazy(out);
    }

    /**
     * Each deviating decision one alternative lower (then alternative 1): alternatives are ordered from the least to
     * the most deviation (a shorter perturbation delay, a smaller cost level), so a lower one often shows the same
     * violation sooner.
     */
    private List<Scenario> smallerDeviations(Scenario s) {
        ChoiceSequence c = s.check().choices();
        List<java.util.function.Supplier<Scenario>> out = new ArrayList<>();
        for (int i = c.length() - 1; i >= 0; i--) {
            int v = c.at(i);
            int at = i;
            if (v > 1) {
                out.add(() -> withChoices(s, c.with(at, 1)));
                if (v > 2) {
                    out.add(() -> withChoices(s, c.with(at, v - 1)));
                }
            }
        }
        // then the same violation sooner through a longer one: a wider perturbation window, a slower cost
        for (int i = c.length() - 1; i >= 0; i--) {
            int v = c.at(i);
            int at = i;
            if (v > 0 && v < OTHER_VALUES) {
                out.add(() -> withChoices(s, c.with(at, OTHER_VALUES)));
            }
        }
        return lazy(out);
    }

    /** The highest alternative tried for a deviating decision (the perturbation delays and windows have 8). */
    private static final int OTHER_VALUES = 7;

    private static ChoiceSequence zero(ChoiceSequence c, List<Integer> at) {
        for (int i : at) {
            c = c.with(i, 0);
        }
        return c;
    }

    private static Scenario withChoices(Scenario s, ChoiceSequence c) {
        return s.withCheck(s.check().withChoices(c, s.check().costLevels()));
    }

    private List<Scenario> fewerCostLevels(Scenario s) {
        Map<Choices.Cost, Integer> levels = s.check().costLevels();
        List<Scenario> out = new ArrayList<>();
        if (levels.size() > 1) {
            out.add(s.withCheck(s.check().withChoices(s.check().choices(), Map.of())));
        }
        for (Choices.Cost c : levels.keySet()) {
            Map<Choices.Cost, Integer> less = new EnumMap<>(levels);
            less.remove(c);
            out.add(s.withCheck(s.check().withChoices(s.check().choices(), less)));
        }
        return out;
    }

    private List<Scenario> fewerPerturbations(Scenario s) {
        List<Perturbation> ps = s.check().perturbations();
        List<Scenario> out = new ArrayList<>();
        if (ps.size() > 1) {
            out.add(s.withCheck(s.check().withRun(s.check().scheduleSeed(), List.of())));
        }
        for (int i = 0; i < ps.size(); i++) {
            List<Perturbation> less = new ArrayList<>(ps);
            less.remove(i);
            out.add(s.withCheck(s.check().withRun(s.check().scheduleSeed(), less)));
        }
        if (s.check().scheduleSeed() != 0) {
            out.add(s.withCheck(s.check().withRun(0, ps))); // plain FIFO order
        }
        return out;
    }

    private List<Scenario> fewerTasks(Scenario s) {
        List<Scenario> out = new ArrayList<>();
        List<TaskSpec> tasks = s.tasks();
        // a whole vCPU's tasks at once: a loop on one vCPU rarely needs the other's (which then goes as well)
        for (int cpu = 0; cpu < s.vcpus() && s.vcpus() > 1; cpu++) {
            int k = cpu;
            List<TaskSpec> rest = tasks.stream().filter(t -> t instanceof TaskSpec.Statistical || t.cpu() != k)
                    .toList();
            if (rest.size() < tasks.size() && !rest.isEmpty()) {
                out.add(s.withTasks(rest));
            }
        }
        for (int i = 0; i < tasks.size() && tasks.size() > 1; i++) {
            List<TaskSpec> less = new ArrayList<>(tasks);
            less.remove(i);
            out.add(s.withTasks(less));
        }
        for (int i = 0; i < tasks.size(); i++) {
            if (tasks.get(i) instanceof TaskSpec.Statistical st && st.count() > 1) {
                List<TaskSpec> fewer = new ArrayList<>(tasks);
                fewer.set(i, new TaskSpec.Statistical(st.name(), st.cpu(), st.count() / 2, st.compute(),
                        st.touchesPerOp(), st.wsStart(), st.wsBytes(), st.pattern(), st.writeFraction(),
                        st.kernelFraction(), st.irqOffFraction(), st.maxOps()));
                out.add(s.withTasks(fewer));
            }
            if (tasks.get(i) instanceof TaskSpec.Statistical st && st.maxOps() > 1) {
                // a task that ends sooner: whatever waited for it to end happens sooner
                List<TaskSpec> shorter = new ArrayList<>(tasks);
                shorter.set(i, new TaskSpec.Statistical(st.name(), st.cpu(), st.count(), st.compute(),
                        st.touchesPerOp(), st.wsStart(), st.wsBytes(), st.pattern(), st.writeFraction(),
                        st.kernelFraction(), st.irqOffFraction(), st.maxOps() / 2));
                out.add(s.withTasks(shorter));
            }
        }
        return out;
    }

    private List<Scenario> fewerSteps(Scenario s) {
        List<Scenario> out = new ArrayList<>();
        List<TaskSpec> tasks = s.tasks();
        for (int i = 0; i < tasks.size(); i++) {
            if (tasks.get(i) instanceof TaskSpec.Scripted sc && sc.steps().size() > 1 && sc.steps().size() <= 400) {
                List<Action> steps = sc.steps();
                // halves first, then single steps
                int half = steps.size() / 2;
                out.add(replace(s, i, sc, steps.subList(0, half)));
                out.add(replace(s, i, sc, steps.subList(half, steps.size())));
                for (int k = 0; k < steps.size(); k++) {
                    List<Action> less = new ArrayList<>(steps);
                    less.remove(k);
                    out.add(replace(s, i, sc, less));
                }
            }
        }
        return out;
    }

    private static Scenario replace(Scenario s, int i, TaskSpec.Scripted sc, List<Action> steps) {
        List<TaskSpec> tasks = new ArrayList<>(s.tasks());
        tasks.set(i, new TaskSpec.Scripted(sc.name(), sc.cpu(), List.copyOf(steps), sc.startKernel(), sc.startIf()));
        return s.withTasks(tasks);
    }

    private List<Scenario> fewerVcpus(Scenario s) {
        int needed = 1;
        for (TaskSpec t : s.tasks()) {
            int last = t instanceof TaskSpec.Statistical st ? st.cpu() + Math.min(st.count(), s.vcpus()) - 1 : t.cpu();
            needed = Math.max(needed, last + 1);
        }
        for (Perturbation p : s.check().perturbations()) {
            needed = Math.max(needed, p.cpu() + 1);
        }
        if (needed < s.vcpus()) {
            return List.of(s.withVcpus(needed));
        }
        // the tasks of the last vCPU moved to the one before it (only scripted tasks and no perturbations there)
        int last = s.vcpus() - 1;
        if (last == 0 || s.tasks().stream().anyMatch(t -> t instanceof TaskSpec.Statistical)
                || s.check().perturbations().stream().anyMatch(p -> p.cpu() == last)) {
            return List.of();
        }
        List<TaskSpec> moved = new ArrayList<>();
        for (TaskSpec t : s.tasks()) {
            TaskSpec.Scripted sc = (TaskSpec.Scripted) t;
            moved.add(sc.cpu() != last ? sc : new TaskSpec.Scripted(sc.name(), last - 1, sc.steps(), sc.startKernel(),
                    sc.startIf()));
        }
        return List.of(s.withTasks(moved).withVcpus(last));
    }
}
