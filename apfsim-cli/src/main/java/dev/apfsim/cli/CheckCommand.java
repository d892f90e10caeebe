package dev.apfsim.cli;

import dev.apfsim.explore.Explorer;
import dev.apfsim.explore.RunCase;
import dev.apfsim.explore.Strategy;
import dev.apfsim.check.ChoiceSequence;
import dev.apfsim.sim.LassoDetector;
import dev.apfsim.campaign.CampaignEngine;
import dev.apfsim.campaign.LocalEngine;
import dev.apfsim.campaign.Shard;
import dev.apfsim.check.Violation;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioWriter;
import dev.apfsim.sim.ResultJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code apfsim check}: explore schedules of a scenario until an invariant breaks, then shrink and report it. */
@Command(name = "check", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Explore many perturbed runs of a scenario looking for a broken invariant (docs/invariants.md).",
                "On the first violation: shrink it, print the minimal trace and write a scenario that "
                        + "`apfsim run` replays exactly. Exit status 1 when a violation is found, 0 when none."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:no violation in any run", "1:a violation was found (and shrunk)", "2:bad input"})
final class CheckCommand implements Callable<Integer> {
    static final class StrategyConverter implements picocli.CommandLine.ITypeConverter<Strategy> {
        @Override
        public Strategy convert(String v) {
            try {
                return Strategy.fromKey(v);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SCENARIO", description = "Built-in scenario name or YAML file.")
    String scenario;

    @Mixin
    ScenarioOptions options;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "10000",
            description = "Runs to explore (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = {"-j", "--jobs"}, converter = CompareCommand.Jobs.class, paramLabel = "J",
            description = "Parallel runs (default: the number of cores).")
    Integer jobs;

    @Option(names = "--shrink-budget", paramLabel = "N", defaultValue = "300",
            description = "At most this many re-runs while shrinking (default: ${DEFAULT-VALUE}).")
    int shrinkBudget;

    @Option(names = "--out", paramLabel = "FILE",
            description = "Where to write the minimal scenario (default: SCENARIO-INVARIANT.yaml in a new temporary "
                    + "directory, named in the output).")
    Path out;

    @Option(names = "--trace-lines", paramLabel = "N", defaultValue = "0",
            description = "Lines of the minimal trace to print, ending at the violation (default: ${DEFAULT-VALUE}).")
    int traceLines;

    @Option(names = "--strategy", paramLabel = "S", converter = StrategyConverter.class,
            description = {"random (random decisions, swarm cost levels), pct (probabilistic concurrency testing, "
                    + "--depth), exhaustive (bounded breadth-first search over choice sequences, --bound), or "
                    + "portfolio: a bounded exhaustive search first on a small scenario, then random and pct runs "
                    + "interleaved (default)."})
    Strategy strategy;

    @Option(names = "--depth", paramLabel = "D", defaultValue = "3",
            description = "PCT bug depth d (default: ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = "--bound", paramLabel = "B", defaultValue = "2",
            description = "Exhaustive: at most B decisions that differ from the scenario's own (default: ${DEFAULT-VALUE}).")
    int bound;

    @Option(names = "--max-states", paramLabel = "N", defaultValue = "20000",
            description = "Exhaustive: give up (inconclusive) after N runs (default: ${DEFAULT-VALUE}).")
    int maxStates;

    @Option(names = "--por", description = "Exhaustive: partial-order reduction: explore one order of simultaneous "
            + "events that touched nothing in common (vCPU, host CPU, guest frame, device, guest RAM, sleeper "
            + "table, s390 floating interrupts and pfault list) as they ran. Fewer runs; opt-in, since it rests on "
            + "every component reporting what it shares (docs/invariants.md).")
    boolean por;

    @Option(names = "--fairness", paramLabel = "F",
            description = "Which cycles with no progress are a livelock: none (any), weak (no task stays runnable "
                    + "through the cycle without running; the default, or the scenario's check.fairness) or strong "
                    + "(no task runnable at some point of it without running).")
    String fairness;

    @Option(names = "--max-events", paramLabel = "N",
            description = "Watchdog: a checked run that takes more than N engine events is stopped and reported as "
                    + "watchdog (default: the scenario's check.max_events, 200,000,000).")
    Long maxEvents;

    @Option(names = "--replay", paramLabel = "CHOICES",
            description = "Run once with these decisions (the choice sequence a violation printed, e.g. 0*41,2,1) "
                    + "and report what breaks.")
    String replay;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Option(names = "--rows", paramLabel = "FILE",
            description = {"Run every index as a campaign row kept in FILE (.csv, .ndjson or .parquet), then shrink "
                    + "the violation with the lowest index. Resumable: the same command again keeps the rows there.",
                    "Shardable with --shard; merge the shards' files with 'apfsim merge' (docs/campaigns.md)."})
    String rows;

    @Option(names = "--shard", paramLabel = "K/N", converter = CampaignRuns.ShardConverter.class,
            description = "With --rows: run only the indices that are K modulo N (0 <= K < N).")
    Shard shard;

    @Option(names = "--force", description = "With --rows: start FILE over when it holds rows of another check.")
    boolean force;

    private final CampaignEngine engine;

    CheckCommand() {
        this(new LocalEngine());
    }

    /** A check whose --rows campaign {@code engine} computes (apfsim-spark passes its own). */
    CheckCommand(CampaignEngine engine) {
        this.engine = engine;
    }

    @Override
    public Integer call() throws Exception {
        if (runs < 1) {
            throw new Main.UserException("--runs must be at least 1");
        }
        Scenario base = options.load(scenario, List.of());
        if (fairness != null) {
            try {
                base = base.withCheck(base.check().withFairness(dev.apfsim.check.Fairness.fromKey(fairness)));
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--fairness: " + e.getMessage());
            }
        }
        if (maxEvents != null) {
            if (maxEvents < 1) {
                throw new Main.UserException("--max-events must be at least 1, got " + maxEvents);
            }
            base = base.withCheck(base.check().withMaxEvents(maxEvents));
        }
        long seed = options.seed != null ? options.seed : base.seed();
        int threads = jobs != null ? Math.max(1, jobs) : Runtime.getRuntime().availableProcessors();
        if (rows == null && (shard != null || force)) {
            throw new Main.UserException((shard != null ? "--shard" : "--force") + " needs --rows FILE: a shard's "
                    + "runs are kept as rows, to be merged with the other shards'");
        }
        HeapCheck.require(base, Math.min(threads, runs));
        Explorer.Report report;
        Strategy strat = strategy != null ? strategy : Strategy.PORTFOLIO;
        if (depth < 1 || bound < 0 || maxStates < 1) {
            throw new Main.UserException("--depth must be at least 1, --bound at least 0, --max-states at least 1");
        }
        if (replay != null) {
            ChoiceSequence c;
            try {
                c = ChoiceSequence.parse(replay);
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--replay: " + e.getMessage());
            }
            long t0 = System.nanoTime();
            RunCase one = RunCase.run(base.withCheck(base.check().withRun(0, base.check().perturbations())
                    .withChoices(c, base.check().costLevels())), true);
            Explorer.Finding f = one.violation() == null ? null
                    : new Explorer.Finding(0, base.seed(), one.violation(), one, one, 0, System.nanoTime() - t0);
            report = new Explorer.Report(1, f, Map.of(), System.nanoTime() - t0, strat, 0, 0, false, null);
        } else if (rows != null) {
            report = CampaignRuns.check(engine, base, seed, runs, rows, new CampaignEngine.Options(
                    shard != null ? shard : Shard.ALL, force, threads, null), shrinkBudget, json,
                    spec.commandLine().getErr());
        } else {
            try (Progress bar = Progress.of("check " + base.name(), runs, " runs", Progress.wanted(json, false))) {
                report = Explorer.explore(base, new Explorer.Options(strat, runs, seed, threads, shrinkBudget,
                                depth, bound, maxStates, por),
                        done -> bar.update(Math.min(done, runs), String.format("%.0f runs/s, no violation yet",
                                done / Math.max(1e-9, bar.elapsedSeconds()))));
            }
        }
        PrintWriter o = spec.commandLine().getOut();
        Path written = null;
        if (report.finding() != null) {
            written = writeMinimal(base, report.finding());
        }
        if (json) {
            o.println(ResultJson.toJson(jsonReport(base, report, written)));
        } else {
            human(o, base, report, written);
        }
        o.flush();
        return report.finding() == null ? 0 : 1;
    }

    private Path writeMinimal(Scenario base, Explorer.Finding f) {
        Path path = out;
        String file = base.name() + "-" + f.violation().invariant().key() + ".yaml";
        try {
            if (path == null) { // never into the current directory (often a source tree)
                path = Files.createTempDirectory("apfsim-check-").resolve(file);
            } else if (Files.isDirectory(path)) {
                path = path.resolve(file);
            }
        } catch (IOException e) {
            throw new Main.UserException("cannot create a temporary directory for the reproducer: " + e.getMessage());
        }
        Scenario minimal = f.minimal().scenario();
        String header = "# Minimal reproducer written by `apfsim check " + scenario
                + (options.variant() != null ? " --variant " + options.variant() : "") + "`\n# invariant: "
                + f.minimal().violation() + "\n# replay: ./apfsim run " + path + "\n";
        try {
            Files.writeString(path, header + ScenarioWriter.toYaml(minimal));
        } catch (IOException e) {
            throw new Main.UserException("cannot write " + path + ": " + e.getMessage());
        }
        return path;
    }

    private void human(PrintWriter o, Scenario base, Explorer.Report r, Path written) {
        String label = base.name() + (options.variant() != null ? " (variant " + options.variant() + ")" : "");
        Explorer.Finding f = r.finding();
        if (r.guarantee() != null) {
            o.println(r.guarantee());
        }
        if (f == null) {
            if (r.strategy() == Strategy.EXHAUSTIVE) {
                o.printf(r.complete() ? "check %s: holds for all schedules within bound %d (%,d states, %,d runs, %.1f s)%n"
                                : "check %s: no violation, bound %d NOT exhausted after %,d states in %,d runs (%.1f s):"
                                + " raise --max-states%n", label, r.bound(), r.distinctStates(), r.runsDone(),
                        r.wallNs() / 1e9);
            } else {
                o.printf("check %s: no violation in %,d runs (%.0f runs/s, %.1f s)%n", label, r.runsDone(),
                        r.runsPerSecond(), r.wallNs() / 1e9);
            }
            o.println(summary(r));
            return;
        }
        Violation v = f.minimal().violation();
        o.printf("check %s: VIOLATION %s%n", label, v.invariant().key());
        o.printf("  %s%n", v);
        o.printf("found in run #%d (seed %d) after %.2f s and %,d runs (%.0f runs/s)%n", f.runIndex(), f.runSeed(),
                f.wallNsToFind() / 1e9, r.runsDone(), r.runsPerSecond());
        if (f.tracedIndex() != f.runIndex()) {
            o.printf("its trace stayed above %d protocol events when shrunk: shown is run #%d, a later run breaking the"
                    + " same invariant, whose trace shrank further%n", Explorer.LONG_TRACE, f.tracedIndex());
        }
        Scenario a = f.original().scenario();
        Scenario b = f.minimal().scenario();
        o.printf("shrunk in %d re-runs: %d -> %d tasks, %d -> %d injected events, %d -> %d vCPUs, %s -> %s,"
                        + " %d -> %d deviating decisions%n",
                f.shrinkAttempts(), a.tasks().size(), b.tasks().size(), a.check().perturbations().size(),
                b.check().perturbations().size(), a.vcpus(), b.vcpus(), Fmt.duration(a.durationNs()),
                Fmt.duration(b.durationNs()), a.check().choices().deviations(), b.check().choices().deviations());
        List<String> events = f.minimal().protocolToViolation();
        var lasso = f.minimal().lasso();
        if (lasso != null && lasso.looping() != null) {
            o.printf("%nlivelock of task %s: prefix of %d protocol events, then the last of its repeated cycles, %d"
                    + " events with other tasks' progress in them (%s):%n", lasso.looping(), lasso.prefixLength(),
                    lasso.cycleLength(), LassoDetector.fairness(lasso));
        } else if (lasso != null) {
            o.printf("%nlivelock as a lasso: prefix of %d protocol events, then a cycle of %d repeating for ever"
                    + " (%s):%n", lasso.prefixLength(), lasso.cycleLength(), LassoDetector.fairness(lasso));
        }
        if (lasso != null) {
            for (int i = 0; i < events.size(); i++) {
                if (i == lasso.cycleStart()) {
                    o.println("  -- cycle:");
                }
                o.println("  " + events.get(i));
            }
        } else {
            o.printf("%nprotocol events (%d, ending at the violation):%n", events.size());
            for (String line : events) {
                o.println("  " + line);
            }
        }
        if (traceLines > 0 && !f.minimal().trace().isEmpty()) {
            List<String> trace = tail(f.minimal());
            o.printf("%nfull trace (%d of %d lines, ending at the violation; --trace-lines):%n", trace.size(),
                    f.minimal().trace().size());
            for (String line : trace) {
                o.println("  " + line);
            }
        }
        o.printf("%nchoices:          %s%n", b.check().choices().length() == 0 ? "(the scenario's own)"
                : b.check().choices());
        o.printf("minimal scenario: %s%nreplay:           ./apfsim run %s%n", written, written);
        o.println(summary(r));
    }

    /** One line: what was explored, how, and how long it took to find. */
    private static String summary(Explorer.Report r) {
        Explorer.Finding f = r.finding();
        String por = r.strategy() != Strategy.EXHAUSTIVE ? "" : r.porSkipped() < 0 ? ", no partial-order reduction"
                : String.format(", partial-order reduction (%,d event orders skipped)", r.porSkipped());
        return String.format("summary: strategy %s, %,d runs, %,d distinct abstract states%s%s, %s",
                r.strategy().key(), r.runsDone(), r.distinctStates(),
                r.strategy() == Strategy.EXHAUSTIVE ? ", bound " + r.bound() : "", por,
                f == null ? String.format("no violation in %.2f s", r.wallNs() / 1e9)
                        : String.format("found in %.2f s", f.wallNsToFind() / 1e9));
    }

    /** The last lines of the minimal trace, up to and including the violation. */
    private List<String> tail(RunCase c) {
        List<String> lines = c.trace();
        int end = lines.size();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("apfsim_violation")) {
                end = i + 1;
                break;
            }
        }
        return lines.subList(Math.max(0, end - traceLines), end);
    }

    private Map<String, Object> jsonReport(Scenario base, Explorer.Report r, Path written) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scenario", base.name());
        m.put("variant", options.variant());
        m.put("runs", r.runsDone());
        m.put("runs_per_second", r.runsPerSecond());
        m.put("wall_ns", r.wallNs());
        m.put("strategy", r.strategy().key());
        m.put("distinct_states", r.distinctStates());
        if (r.strategy() == Strategy.EXHAUSTIVE) {
            m.put("bound", r.bound());
            m.put("bound_exhausted", r.complete());
            m.put("partial_order_reduction", r.porSkipped() >= 0);
            if (r.porSkipped() >= 0) {
                m.put("por_skipped", r.porSkipped());
            }
        }
        Explorer.Finding f = r.finding();
        m.put("violation_found", f != null);
        if (f != null) {
            Violation v = f.minimal().violation();
            m.put("invariant", v.invariant().key());
            Map<String, Object> violation = new LinkedHashMap<>(); // stable key order in the output
            violation.put("time_ns", v.timeNs());
            violation.put("vcpu", v.vcpu());
            violation.put("detail", v.detail());
            m.put("violation", violation);
            m.put("run_index", f.runIndex());
            m.put("run_seed", f.runSeed());
            m.put("traced_run_index", f.tracedIndex());
            m.put("wall_ns_to_find", f.wallNsToFind());
            m.put("shrink_attempts", f.shrinkAttempts());
            m.put("minimal_scenario", written == null ? null : written.toString());
            m.put("trace", tail(f.minimal()));
            m.put("protocol_events", f.minimal().protocolToViolation());
            m.put("choices", f.minimal().scenario().check().choices().toString());
            if (f.minimal().lasso() != null) {
                var l = f.minimal().lasso();
                Map<String, Object> lasso = new LinkedHashMap<>();
                lasso.put("prefix", l.prefixLength());
                lasso.put("cycle", l.cycleLength());
                lasso.put("weak_fairness", l.weaklyFair());
                lasso.put("strong_fairness", l.stronglyFair());
                if (l.looping() != null) {
                    lasso.put("looping_task", l.looping());
                }
                m.put("lasso", lasso);
            }
        }
        return m;
    }
}
