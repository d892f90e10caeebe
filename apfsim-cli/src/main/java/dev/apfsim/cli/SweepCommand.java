package dev.apfsim.cli;

import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.ApfSwitch;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.ResultJson;
import dev.apfsim.sim.RunResult;
import dev.apfsim.workload.TaskSpec;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code apfsim sweep}: every combination of {@code --apf} and {@code --vary} values, each with several seeds,
 * one row per run in a CSV (or NDJSON) file for pandas, DuckDB, R or a spreadsheet.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a scenario over a grid of settings and seeds, in parallel, and write one row per run.",
                "Rows are written in grid order as runs finish, so an interrupted sweep keeps every finished row."})
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
            description = "Output file: .csv (one row per run, flat columns) or .ndjson (one RunResult per line).")
    Path out;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N", description = "Runs at once (default: the number of CPUs).")
    Integer jobs;

    @Override
    public Integer call() throws Exception {
        if (seeds < 1) {
            throw new Main.UserException("--seeds must be at least 1, got " + seeds);
        }
        List<CompareCommand.Variant> grid = VariantMatrix.variants(scenario, options, apf, vary);
        List<Run> runs = new ArrayList<>();
        for (CompareCommand.Variant v : grid) {
            for (int k = 0; k < seeds; k++) {
                runs.add(new Run(runs.size(), v, v.scenario().withSeed(v.scenario().seed() + k)));
            }
        }
        boolean csv = !out.getFileName().toString().endsWith(".ndjson");
        List<String> groups = taskGroups(grid.getFirst().scenario());
        int n = Math.max(1, Math.min(jobs != null ? jobs : Runtime.getRuntime().availableProcessors(), runs.size()));
        HeapCheck.require(runs.stream().map(Run::scenario).toList(), n);
        long start = System.nanoTime();
        Writer w;
        try {
            w = Files.newBufferedWriter(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Main.UserException("cannot create " + out + ": " + e.getMessage());
        }
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "apfsim-sweep");
            t.setDaemon(true);
            return t;
        });
        Thread hook = new Thread(() -> flushQuietly(w));
        Runtime.getRuntime().addShutdownHook(hook); // Ctrl-C keeps the rows written so far
        try (CSVPrinter printer = csv ? new CSVPrinter(w, CSVFormat.DEFAULT) : null) {
            if (printer != null) {
                printer.printRecord(header(groups));
            }
            List<Future<RunResult>> futures = new ArrayList<>();
            for (Run r : runs) {
                futures.add(pool.submit(() -> new Machine(r.scenario()).run()));
            }
            for (int i = 0; i < runs.size(); i++) {
                RunResult res = futures.get(i).get();
                synchronized (w) {
                    if (printer != null) {
                        printer.printRecord(row(runs.get(i), res, groups));
                    } else {
                        w.write(ResultJson.compact(ndjsonRow(runs.get(i), res)));
                        w.write('\n');
                    }
                    w.flush();
                }
            }
        } finally {
            pool.shutdownNow();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
            flushQuietly(w);
            w.close();
        }
        PrintWriter o = spec.commandLine().getOut();
        o.printf("sweep %s: %d runs (%d grid points x %d seeds) in %.1f s, written to %s%n", scenario, runs.size(),
                grid.size(), seeds, (System.nanoTime() - start) / 1e9, out);
        o.flush();
        return 0;
    }

    private record Run(int index, CompareCommand.Variant variant, Scenario scenario) {
    }

    private static void flushQuietly(Writer w) {
        synchronized (w) {
            try {
                w.flush();
            } catch (IOException ignored) {
                // closed or failing: nothing more to keep
            }
        }
    }

    /** Task groups as named in the scenario (a statistical task with count N is one group). */
    private static List<String> taskGroups(Scenario s) {
        List<String> g = new ArrayList<>();
        for (TaskSpec t : s.tasks()) {
            g.add(t.name());
        }
        return g;
    }

    private List<String> header(List<String> groups) {
        List<String> h = new ArrayList<>(List.of("run", "label", "apf"));
        for (CompareCommand.Vary v : vary) {
            h.add(v.path());
        }
        h.addAll(List.of("seed", "outcome", "simulated_ns", "events", "wall_ns", "total_ops"));
        for (String g : groups) {
            h.add("ops_per_second." + g);
        }
        for (TimeCategory c : TimeCategory.values()) {
            h.add("vcpu_time." + c.key() + "_ns");
        }
        for (String lat : List.of("fault_to_ready", "task_wait", "sync_fault")) {
            for (String p : List.of("count", "p50_ns", "p99_ns", "p999_ns", "max_ns")) {
                h.add(lat + "." + p);
            }
        }
        for (dev.apfsim.metrics.Counter c : dev.apfsim.metrics.Counter.values()) {
            h.add("counters." + c.key());
        }
        h.addAll(List.of("failure.time_to_detection_ns", "failure.error_cycles", "violations", "fingerprint"));
        return h;
    }

    private List<Object> row(Run run, RunResult r, List<String> groups) {
        List<Object> row = new ArrayList<>(List.of(run.index(), run.variant().label(), r.apf()));
        Map<String, String> set = new LinkedHashMap<>();
        for (String s : run.variant().sets()) {
            int eq = s.indexOf('=');
            set.put(s.substring(0, eq), s.substring(eq + 1));
        }
        for (CompareCommand.Vary v : vary) {
            row.add(set.getOrDefault(v.path(), ""));
        }
        row.addAll(List.of(r.seed(), r.outcome().kind(), r.simulatedNs(), r.events(), r.wallNs(),
                CompareCommand.totalOps(r)));
        double secs = r.simulatedNs() / 1e9;
        for (String g : groups) {
            long ops = 0;
            for (RunResult.TaskResult t : r.tasks()) {
                if (t.name().equals(g) || t.name().startsWith(g + "-")) {
                    ops += t.ops();
                }
            }
            row.add(secs > 0 ? ops / secs : 0);
        }
        for (TimeCategory c : TimeCategory.values()) {
            long ns = 0;
            for (RunResult.VcpuResult v : r.vcpus()) {
                ns += v.timeNs().getOrDefault(c.key(), 0L);
            }
            row.add(ns);
        }
        for (String lat : List.of("fault_to_ready", "task_wait", "sync_fault")) {
            Map<String, Object> l = r.latencies().get(lat);
            row.addAll(List.of(l.get("count"), l.get("p50_ns"), l.get("p99_ns"), l.get("p999_ns"), l.get("max_ns")));
        }
        for (dev.apfsim.metrics.Counter c : dev.apfsim.metrics.Counter.values()) {
            row.add(r.counter(c.key()));
        }
        RunResult.FailureResult f = r.failure();
        row.add(f == null || f.timeToDetectionNs() == null ? "" : f.timeToDetectionNs());
        row.add(f == null ? 0 : f.errorCycles());
        row.add(r.violations().size());
        row.add(r.fingerprint());
        return row;
    }

    private Map<String, Object> ndjsonRow(Run run, RunResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", run.index());
        m.put("label", run.variant().label());
        m.put("sets", run.variant().sets());
        m.put("result", r);
        return m;
    }
}
