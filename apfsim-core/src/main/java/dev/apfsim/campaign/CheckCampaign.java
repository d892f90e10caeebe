package dev.apfsim.campaign;

import dev.apfsim.explore.Explorer;
import dev.apfsim.explore.RunCase;
import dev.apfsim.explore.Shrinker;
import dev.apfsim.check.Violation;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.scenario.ScenarioWriter;
import dev.apfsim.sim.RunResult;

import java.util.ArrayList;
import java.util.List;

/**
 * A check campaign: one row per explored run index, each the run {@link Explorer#runScenario} makes of that index.
 * The answer is the violating row with the lowest index, so it does not depend on how the runs were spread.
 * A thin layer around "run index -> checked run": how the explorer perturbs a run stays the explorer's business.
 */
public final class CheckCampaign implements Campaign {
    private static final List<String> HEADER = List.of(Table.RUN, "seed", Table.SETTINGS_HASH, "outcome",
            "invariant", "violation_time_ns", "violation_vcpu", "violation_detail", "simulated_ns", "events",
            "fingerprint");
    private static final Table TABLE = Table.of(HEADER);

    private final String scenario;
    private final String yaml;
    private final long seed;
    private final long runs;
    private final String baseHash;
    private transient Scenario base;

    /**
     * @param base the scenario explored
     * @param seed the exploration seed (each run's seed derives from it and the run index)
     * @param runs how many run indices the campaign has
     */
    public CheckCampaign(Scenario base, long seed, long runs) {
        if (runs < 1) {
            throw new IllegalArgumentException("a check campaign needs at least one run");
        }
        this.scenario = base.name();
        this.yaml = ScenarioWriter.toYaml(base);
        this.seed = seed;
        this.runs = runs;
        this.baseHash = Campaign.hash(yaml, Long.toString(seed));
    }

    @Override
    public String kind() {
        return "check";
    }

    @Override
    public String scenario() {
        return scenario;
    }

    @Override
    public long size() {
        return runs;
    }

    @Override
    public Table table() {
        return TABLE;
    }

    public long seed() {
        return seed;
    }

    @Override
    public String settingsHash(long index) {
        if (index < 0 || index >= runs) {
            throw new IndexOutOfBoundsException("run " + index + " of a check campaign of " + runs + " runs");
        }
        return Campaign.hash(baseHash, Long.toString(index));
    }

    private synchronized Scenario base() {
        if (base == null) {
            base = ScenarioLoader.load(scenario + ".yaml", yaml);
        }
        return base;
    }

    @Override
    public Row run(long index) {
        RunCase c = Explorer.runCase(base(), seed, index, false);
        RunResult r = c.result();
        Violation v = c.violation();
        List<Object> row = new ArrayList<>();
        row.add(index);
        row.add(c.scenario().seed());
        row.add(settingsHash(index));
        row.add(r.outcome().kind());
        row.add(v == null ? null : v.invariant().key());
        row.add(v == null ? null : v.timeNs());
        row.add(v == null ? null : (long) v.vcpu());
        row.add(v == null ? null : v.detail());
        row.add(r.simulatedNs());
        row.add(r.events());
        row.add(r.fingerprint());
        return new Row(TABLE.values(row), Results.json(r));
    }

    @Override
    public boolean violated(List<Object> values) {
        return values.get(TABLE.indexOf("invariant")) != null;
    }

    /**
     * The finding of run {@code index}, as {@link Explorer#explore} reports one: the run again with its trace, shrunk
     * within {@code shrinkBudget} re-runs, and the minimal run with its trace.
     */
    public Explorer.Finding finding(long index, int shrinkBudget, long wallNsToFind) {
        RunCase first = Explorer.runCase(base(), seed, index, false);
        if (first.violation() == null) {
            throw new IllegalStateException("run " + index + " breaks no invariant when run again");
        }
        Shrinker sh = new Shrinker(first.violation().invariant(), shrinkBudget);
        RunCase small = sh.shrink(first);
        RunCase minimal = RunCase.run(small.scenario(), true);
        return new Explorer.Finding(index, first.scenario().seed(), first.violation(), first, minimal, sh.attempts(),
                wallNsToFind);
    }
}
