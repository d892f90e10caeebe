package dev.apfsim.cli;

import dev.apfsim.campaign.CampaignEngine;
import dev.apfsim.campaign.LocalEngine;
import dev.apfsim.campaign.RowFormat;
import dev.apfsim.campaign.Shard;
import dev.apfsim.campaign.SweepCampaign;
import dev.apfsim.report.SweepReport;
import dev.apfsim.sim.ApfSwitch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code apfsim sweep}: every combination of {@code --apf} and {@code --vary} values, each with several seeds,
 * one row per run in a CSV (or NDJSON) file for pandas, DuckDB, R or a spreadsheet.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Run a scenario over a grid of settings and seeds, in parallel, and write one row per run.",
                "Rows are written in grid order as runs finish, so an interrupted sweep keeps every finished row; "
                        + "the same command again resumes it. --shard K/N splits a sweep over machines "
                        + "(docs/campaigns.md)."})
final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SCENARIO", description = "Built-in scenario name or YAML file.")
    String scenario;

    @Option(names = "--apf", paramLabel = "MODE", split = ",", converter = RunCommand.ApfConverter.class,
            description = "Async PF modes to cover (on, off, sync), e.g. --apf on,off.")
    List<ApfSwitch> apf = new ArrayList<>();

    @Option(names = "--vary", paramLabel = "PATH=V1,V2,...", converter = CompareCommand.VaryConverter.class,
            description = "Values of a scenario field to cover. Repeatable (cross product).")
    List<CompareCommand.Vary> vary = new ArrayList<>();

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "1",
            description = "Seeds per grid point: the scenario's seed, then seed+1, ... (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Mixin
    ScenarioOptions options;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", required = true,
            description = {"Output file: .csv (one row per run, flat columns), .ndjson (the columns and the whole "
                    + "result per line) or .parquet.",
                    "If it exists, the sweep resumes: rows already there are kept and only missing ones run."})
    String out;

    @Option(names = "--shard", paramLabel = "K/N", converter = CampaignRuns.ShardConverter.class,
            description = "Run only the rows whose index is K modulo N (0 <= K < N), e.g. "
                    + "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; merge the shards' files after.")
    Shard shard;

    @Option(names = "--force", description = "Start the output file over when it holds rows of another sweep.")
    boolean force;

    @Option(names = "--report", paramLabel = "FILE",
            description = "Also write a self-contained HTML report of the sweep: each metric against each varied "
                    + "field, outcomes per grid point (docs/campaigns.md).")
    Path report;

    @Option(names = {"-j", "--jobs"}, converter = CompareCommand.Jobs.class, paramLabel = "N", description = "Runs at once (default: the number of CPUs).")
    Integer jobs;

    private final CampaignEngine engine;

    SweepCommand() {
        this(new LocalEngine());
    }

    /** A sweep whose rows {@code engine} computes (apfsim-spark passes its own). */
    SweepCommand(CampaignEngine engine) {
        this.engine = engine;
    }

    @Override
    public Integer call() throws Exception {
        if (seeds < 1) {
            throw new Main.UserException("--seeds must be at least 1, got " + seeds);
        }
        List<CompareCommand.Variant> grid = VariantMatrix.variants(scenario, options, apf, vary);
        SweepCampaign campaign = CampaignRuns.sweep(grid, vary, seeds);
        int n = Math.max(1, jobs != null ? jobs : Runtime.getRuntime().availableProcessors());
        Shard part = shard != null ? shard : Shard.ALL;
        RowFormat format = RowFormat.forName(out).orElseThrow(() -> new Main.UserException("-o " + out
                + ": unknown output format (known: .csv, .ndjson, .parquet)"));
        HeapCheck.require(grid.stream().map(CompareCommand.Variant::scenario).toList(), n);
        long start = System.nanoTime();
        CampaignEngine.Result r = CampaignRuns.run(engine, campaign, out,
                new CampaignEngine.Options(part, force, n, format), false, spec.commandLine().getErr());
        if (report != null) {
            try {
                SweepReport.write(report, "apfsim sweep: " + campaign.scenario(), campaign.table(), r.rows());
            } catch (IOException e) {
                throw new Main.UserException("cannot write " + report + ": " + e.getMessage());
            }
        }
        PrintWriter o = spec.commandLine().getOut();
        String done = r.kept() == 0 ? "" : String.format(", %d run now and %d kept", r.ran(), r.kept());
        o.printf("sweep %s%s: %d %s (%d grid points x %d seeds)%s in %.1f s, written to %s%s%n", scenario,
                part.isAll() ? "" : " shard " + part, r.total(),
                part.isAll() ? "runs" : "of " + campaign.size() + " rows", grid.size(), seeds, done,
                (System.nanoTime() - start) / 1e9, out, report != null ? " (report: " + report + ")" : "");
        o.flush();
        return 0;
    }
}
