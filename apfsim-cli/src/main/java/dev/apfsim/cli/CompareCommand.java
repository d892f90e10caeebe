package dev.apfsim.cli;

import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.Scenarios;
import dev.apfsim.scenario.Units;
import dev.apfsim.sim.ApfSwitch;
import dev.apfsim.sim.ResultJson;
import dev.apfsim.sim.RunResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/** {@code apfsim compare}: the same scenario and seed under several settings, side by side. */
@Command(name = "compare", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Run variants of one scenario (same seed) in parallel and print them side by side, with the "
                + "change of each later variant against the first.",
                "Variants: the scenario's own (its variants: section, all of them or those named with --variant "
                        + "a,b), one per --apf value, one per --vary value, or the cross product."})
final class CompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SCENARIO",
            description = "A built-in scenario name (see 'apfsim scenarios') or the path of a YAML file.")
    String scenario;

    @Option(names = "--apf", paramLabel = "MODE", split = ",", splitSynopsisLabel = ",",
            converter = RunCommand.ApfConverter.class,
            description = "One variant per mode (on, off, sync), e.g. --apf on,off.")
    List<ApfSwitch> apf = new ArrayList<>();

    @Option(names = "--vary", paramLabel = "PATH=V1,V2,...", converter = VaryConverter.class,
            description = "One variant per value of a scenario field, each applied as --set PATH=V, e.g. "
                    + "--vary host.swap.latency.median=50us,5ms. Repeatable (cross product).")
    List<Vary> vary = new ArrayList<>();

    @Mixin
    ScenarioOptions options;

    @Option(names = "--json", description = "Print {\"base\", \"variants\", \"relative\"} as JSON (docs/json.md).")
    boolean json;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N", converter = Jobs.class,
            description = "Runs at once (default: the number of CPUs, at most the number of variants).")
    Integer jobs;

    @Option(names = "--report", paramLabel = "FILE",
            description = "Write a self-contained HTML report of all variants, side by side, to FILE (docs/report.md).")
    Path report;

    /** Report data and progress of the runs; set by {@link #call()}. */
    private CompareOutputs outputs = CompareOutputs.none();

    /** A field and the values it takes, one variant each. */
    record Vary(String path, List<String> values) {
    }

    /** One column of the comparison; {@code sets} are the --vary overrides that made it. */
    record Variant(String label, Scenario scenario, ApfSwitch apf, List<String> sets) {
    }

    /** {@code compare --json}: the variants in order and the relative changes of each later one. */
    public record CompareJson(String base, List<Labeled> variants, Map<String, Map<String, Double>> relative) {
    }

    public record Labeled(String label, RunResult result) {
    }

    @Override
    public Integer call() throws Exception {
        List<Variant> variants = variants();
        List<RunResult> results;
        try (CompareOutputs o = CompareOutputs.open(report, variants.size(), Progress.wanted(json, false))) {
            outputs = o;
            results = runAll(variants);
            o.writeReport(variants.stream().map(Variant::label).toList(), results);
        } finally {
            outputs = CompareOutputs.none();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            List<Labeled> labeled = new ArrayList<>();
            for (int i = 0; i < variants.size(); i++) {
                labeled.add(new Labeled(variants.get(i).label(), results.get(i)));
            }
            out.println(ResultJson.toJson(new CompareJson(variants.getFirst().label(), labeled,
                    relative(variants, results))));
        } else {
            for (String line : table(variants, results)) {
                out.println(line);
            }
        }
        out.flush();
        return 0;
    }

    /**
     * The scenario's named variants (those of --variant, or all of them when nothing else varies), then the --apf
     * values, then the --vary values: their cross product, in the order given.
     */
    List<Variant> variants() {
        List<String> named = options.variants;
        if (named.isEmpty() && apf.isEmpty() && vary.isEmpty()) {
            named = List.copyOf(Scenarios.variants(scenario).keySet());
        }
        return VariantMatrix.variants(scenario, options, named, apf, vary);
    }

    List<RunResult> runAll(List<Variant> variants) throws Exception {
        int n = jobs != null ? jobs : Runtime.getRuntime().availableProcessors();
        n = Math.max(1, Math.min(n, variants.size()));
        HeapCheck.require(variants.stream().map(Variant::scenario).toList(), n);
        List<RunResult> results = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "apfsim-compare");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<RunResult>> futures = new ArrayList<>();
            for (int i = 0; i < variants.size(); i++) {
                int index = i;
                Scenario s = variants.get(i).scenario();
                futures.add(pool.submit(() -> outputs.run(index, s)));
            }
            for (Future<RunResult> f : futures) {
                try {
                    results.add(f.get());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof Exception ex) {
                        throw ex;
                    }
                    throw e;
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return results;
    }

    // ---- the metrics compared ------------------------------------------------------------------------------

    /**
     * One row: a name, how to get the shown value from a result, the value whose relative change goes into the
     * JSON (the same except for vCPU time, shown as a share but compared as nanoseconds), and whether a result
     * has the metric at all (a latency without samples has no percentiles).
     */
    private record Metric(String label, String jsonKey, ToDoubleFunction<RunResult> value, Kind kind,
                          ToDoubleFunction<RunResult> raw, Predicate<RunResult> present) {
        Metric(String label, String jsonKey, ToDoubleFunction<RunResult> value, Kind kind) {
            this(label, jsonKey, value, kind, value, r -> true);
        }
    }

    private enum Kind { COUNT, RATE, PERCENT, DURATION }

    private static List<Metric> metrics(List<RunResult> results) {
        List<Metric> m = new ArrayList<>();
        m.add(new Metric("simulated", "simulated_ns", r -> r.simulatedNs(), Kind.DURATION));
        m.add(new Metric("total ops", "total_ops", CompareCommand::totalOps, Kind.COUNT));
        if (results.stream().anyMatch(r -> r.failure() != null)) {
            // seed 004: how long a failing page went unnoticed and what the futile retries cost
            m.add(new Metric("time to detection", "failure.time_to_detection_ns",
                    r -> r.failure() == null || r.failure().timeToDetectionNs() == null ? 0
                            : r.failure().timeToDetectionNs(), Kind.DURATION,
                    r -> r.failure() == null || r.failure().timeToDetectionNs() == null ? 0
                            : r.failure().timeToDetectionNs(),
                    r -> r.failure() != null && r.failure().timeToDetectionNs() != null));
            m.add(new Metric("futile cycles", "failure.error_cycles",
                    r -> r.failure() == null ? 0 : r.failure().errorCycles(), Kind.COUNT));
            m.add(new Metric("futile cycles/s", "failure.error_cycles_per_second",
                    r -> r.failure() == null ? 0 : r.failure().errorCyclesPerSecond(), Kind.RATE));
            m.add(new Metric("wasted vCPU time", "failure.wasted_vcpu_ns",
                    r -> r.failure() == null ? 0 : r.failure().wastedVcpuNs(), Kind.DURATION));
            m.add(new Metric("wasted worker time", "failure.wasted_worker_ns",
                    r -> r.failure() == null ? 0 : r.failure().wastedWorkerNs(), Kind.DURATION));
        }
        Set<String> tasks = new LinkedHashSet<>();
        for (RunResult r : results) {
            for (RunResult.TaskResult t : r.tasks()) {
                tasks.add(t.name());
            }
        }
        for (String t : tasks) {
            m.add(new Metric("ops/s " + t, "tasks." + t + ".ops_per_second", r -> opsPerSecond(r, t), Kind.RATE));
        }
        Set<String> counters = new LinkedHashSet<>();
        for (RunResult r : results) {
            r.counters().forEach((k, v) -> {
                if (v != 0) {
                    counters.add(k);
                }
            });
        }
        // keep declaration order
        for (String k : results.getFirst().counters().keySet()) {
            if (counters.contains(k)) {
                m.add(new Metric(k, "counters." + k, r -> r.counter(k), Kind.COUNT));
            }
        }
        for (TimeCategory c : TimeCategory.values()) {
            m.add(new Metric("vcpu " + c.key().replace('_', ' '), "vcpu_time." + c.key() + "_ns",
                    r -> share(r, c.key()), Kind.PERCENT, r -> vcpuTime(r, c.key()), r -> true));
        }
        for (String lat : results.getFirst().latencies().keySet()) {
            for (String p : List.of("p50", "p99")) {
                ToDoubleFunction<RunResult> f = r -> latency(r, lat, p + "_ns");
                m.add(new Metric(lat + " " + p, "latencies." + lat + "." + p + "_ns", f, Kind.DURATION, f,
                        r -> latency(r, lat, "count") > 0));
            }
        }
        return m;
    }

    static long totalOps(RunResult r) {
        long n = 0;
        for (RunResult.TaskResult t : r.tasks()) {
            n += t.ops();
        }
        return n;
    }

    static double opsPerSecond(RunResult r, String task) {
        for (RunResult.TaskResult t : r.tasks()) {
            if (t.name().equals(task)) {
                return t.opsPerSecond();
            }
        }
        return 0;
    }

    /** Time in {@code category} summed over all vCPUs, in ns. */
    static long vcpuTime(RunResult r, String category) {
        long n = 0;
        for (RunResult.VcpuResult v : r.vcpus()) {
            n += v.timeNs().getOrDefault(category, 0L);
        }
        return n;
    }

    /** Share of all vCPU time spent in {@code category}, in percent. */
    static double share(RunResult r, String category) {
        long total = 0;
        for (RunResult.VcpuResult v : r.vcpus()) {
            for (long x : v.timeNs().values()) {
                total += x;
            }
        }
        return total == 0 ? 0 : 100.0 * vcpuTime(r, category) / total;
    }

    static double latency(RunResult r, String name, String key) {
        Map<String, Object> s = r.latencies().get(name);
        return s == null ? 0 : RunCommand.num(s.get(key));
    }

    /** Width the table tries to stay within. */
    static final int WIDTH = 100;

    static List<String> table(List<Variant> variants, List<RunResult> results) {
        RunResult first = results.getFirst();
        List<String> out = new ArrayList<>();
        out.add("compare " + first.scenario() + "   seed " + first.seed() + "   " + variants.size() + " variants");
        // each column's own simulated time: a run may end early (a livelock, a stopped VM)
        boolean sameTime = results.stream().allMatch(r -> r.simulatedNs() == first.simulatedNs());
        if (sameTime) {
            out.add("simulated " + Fmt.ftraceSeconds(first.simulatedNs()) + " s each");
        }
        out.add("");
        List<String> cols = new ArrayList<>();
        cols.add("metric");
        for (int i = 0; i < variants.size(); i++) {
            cols.add(">" + variants.get(i).label());
            if (i > 0) {
                cols.add(">change");
            }
        }
        Fmt.Table t = new Fmt.Table(cols.toArray(String[]::new));
        List<Object> row = new ArrayList<>();
        row.add("outcome");
        for (int i = 0; i < results.size(); i++) {
            String kind = results.get(i).outcome().kind();
            row.add(kind);
            if (i > 0) {
                row.add(kind.equals(first.outcome().kind()) ? "" : "differs");
            }
        }
        t.row(row.toArray());
        if (results.stream().anyMatch(r -> r.failure() != null)) {
            row.clear();
            row.add("failure visible as");
            for (int i = 0; i < results.size(); i++) {
                RunResult.FailureResult f = results.get(i).failure();
                row.add(f == null ? "-" : f.visibleAs());
                if (i > 0) {
                    row.add("");
                }
            }
            t.row(row.toArray());
        }
        for (Metric m : metrics(results)) {
            row.clear();
            row.add(Fmt.cut(m.label(), 32));
            double base = m.value().applyAsDouble(first);
            boolean basePresent = m.present().test(first);
            for (int i = 0; i < results.size(); i++) {
                RunResult r = results.get(i);
                double v = m.value().applyAsDouble(r);
                boolean present = m.present().test(r);
                row.add(!present ? "-" : switch (m.kind()) {
                    case COUNT -> Fmt.count(Math.round(v));
                    case RATE -> Fmt.rate(v);
                    case PERCENT -> String.format(Locale.ROOT, "%.1f%%", v);
                    case DURATION -> Fmt.duration(Math.round(v));
                });
                if (i > 0) {
                    row.add(!present && !basePresent ? "" : !present || !basePresent ? "n/a"
                            : m.kind() == Kind.PERCENT ? Fmt.points(base, v) : Fmt.change(base, v));
                }
            }
            t.row(row.toArray());
        }
        List<String> lines = t.lines();
        if (lines.stream().mapToInt(String::length).max().orElse(0) > WIDTH) {
            // too wide with the full labels: number the variants and print a legend
            for (int i = 0; i < variants.size(); i++) {
                t.rename(i == 0 ? 1 : 2 * i, "#" + (i + 1));
                out.add("#" + (i + 1) + " = " + variants.get(i).label() + (sameTime ? ""
                        : "   (simulated " + Fmt.ftraceSeconds(results.get(i).simulatedNs()) + " s)"));
            }
            out.add("");
            lines = t.lines();
        } else if (!sameTime) {
            List<String> each = new ArrayList<>();
            for (int i = 0; i < results.size(); i++) {
                each.add(variants.get(i).label() + " " + Fmt.ftraceSeconds(results.get(i).simulatedNs()) + " s");
            }
            out.add(out.size() - 1, "simulated: " + String.join(", ", each));
        }
        out.addAll(lines);
        for (int i = 0; i < results.size(); i++) {
            RunResult r = results.get(i);
            if (!"ok".equals(r.outcome().kind())) {
                out.add("");
                out.add(variants.get(i).label() + ": " + RunCommand.outcomeLine(r));
            }
        }
        out.add("");
        out.add("change: relative to " + variants.getFirst().label() + "; vCPU time shares in percentage points (pp)");
        return out;
    }

    /**
     * For each later variant, the relative change (fraction, 0.178 = +17.8%) of every compared metric against
     * the first variant. Metrics are left out where the first variant's value is 0 and the later one's is not
     * (no relative change exists) and latency percentiles where either side has no samples; both 0 gives 0.
     */
    static Map<String, Map<String, Double>> relative(List<Variant> variants, List<RunResult> results) {
        Map<String, Map<String, Double>> rel = new LinkedHashMap<>();
        RunResult first = results.getFirst();
        List<Metric> metrics = metrics(results);
        for (int i = 1; i < results.size(); i++) {
            Map<String, Double> m = new LinkedHashMap<>();
            for (Metric metric : metrics) {
                if (!metric.present().test(first) || !metric.present().test(results.get(i))) {
                    continue;
                }
                ToDoubleFunction<RunResult> f = metric.raw();
                double a = f.applyAsDouble(first);
                double b = f.applyAsDouble(results.get(i));
                if (a == b) {
                    m.put(metric.jsonKey(), 0.0);
                } else if (a != 0) {
                    m.put(metric.jsonKey(), Math.round((b - a) / Math.abs(a) * 1e6) / 1e6);
                }
            }
            rel.put(variants.get(i).label(), m);
        }
        return rel;
    }

    /** {@code -j/--jobs}: at least one run at a time. */
    static final class Jobs implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n;
            try {
                n = Integer.parseInt(value.strip());
            } catch (NumberFormatException e) {
                throw new TypeConversionException("expected a number of parallel runs, got " + Units.quote(value));
            }
            if (n < 1) {
                throw new TypeConversionException("expected at least 1 parallel run, got " + n);
            }
            return n;
        }
    }

    static final class VaryConverter implements ITypeConverter<Vary> {
        @Override
        public Vary convert(String value) {
            int eq = value.indexOf('=');
            if (eq <= 0 || eq == value.length() - 1) {
                throw new TypeConversionException("expected PATH=V1,V2,... such as host.swap.latency.median=50us,5ms,"
                        + " got " + Units.quote(value));
            }
            List<String> values = new ArrayList<>();
            for (String v : splitTopLevel(value.substring(eq + 1))) {
                if (v.isBlank()) {
                    throw new TypeConversionException("empty value in " + Units.quote(value));
                }
                values.add(v.strip());
            }
            return new Vary(value.substring(0, eq).strip(), values);
        }

        /** Splits at commas outside brackets and quotes, so flow values like {type: constant, value: 1ms} work. */
        static List<String> splitTopLevel(String s) {
            List<String> parts = new ArrayList<>();
            int depth = 0;
            char quote = 0;
            int start = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (quote != 0) {
                    if (c == quote) {
                        quote = 0;
                    }
                } else if (c == '"' || c == '\'') {
                    quote = c;
                } else if (c == '[' || c == '{') {
                    depth++;
                } else if (c == ']' || c == '}') {
                    depth--;
                } else if (c == ',' && depth == 0) {
                    parts.add(s.substring(start, i));
                    start = i + 1;
                }
            }
            parts.add(s.substring(start));
            return parts;
        }
    }
}
