package dev.apfsim.bench;

import dev.apfsim.explore.Explorer;
import dev.apfsim.report.NdjsonWriter;
import dev.apfsim.report.PerfettoProtoWriter;
import dev.apfsim.report.PerfettoWriter;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.FtraceWriter;
import dev.apfsim.trace.TraceFilter;
import dev.apfsim.trace.TraceSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * End-to-end speed figures, all measured in one JVM so that each is a ratio against a baseline of the same run
 * (docs/benchmarks.md): the model against the bare event loop, simulated against wall time on overcommit-ssd and
 * a 64-vCPU variant, engine events and allocated bytes per event and per async PF, check throughput on one
 * thread against all, and trace writing against no trace. {@code java -jar apfsim-bench.jar [jmh args]} runs the
 * JMH micro benchmarks instead.
 */
public final class BenchMain {
    /** The 64-vCPU variant of overcommit-ssd: the same mix of tasks per vCPU, sixteen times over. */
    static final List<String> WIDE = List.of("vm.vcpus=64", "workload.tasks[0].count=64",
            "workload.tasks[1].count=32", "workload.tasks[2].count=32");

    private final List<String[]> table = new ArrayList<>();
    private final int rounds = Integer.getInteger("rounds", 3);

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        new BenchMain().all();
    }

    private void all() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "apfsim benchmarks: %d cores, Java %s, %d rounds after a warm-up: rates are the "
                + "best round, ratios the median of the rounds' own ratios; single-threaded figures in thread CPU "
                + "time, check in wall time%n%n", cores, System.getProperty("java.version"), rounds);
        long duration = Long.getLong("durationNs", 2_000_000_000L);
        Scenario ssd = BuiltinScenarios.load("overcommit-ssd", List.of()).withDuration(duration);
        Scenario wide = BuiltinScenarios.load("overcommit-ssd", WIDE).withDuration(duration / 8);

        // warm-up: the JIT compiles both paths
        new BareLoop(1, 1024).run(2_000_000);
        Measured.run(ssd.withDuration(duration / 4), null);

        double bare = 0;
        Measured model = null;
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            long t0 = Measured.threadCpuNs();
            long n = new BareLoop(r + 1, 1024).run(10_000_000);
            double bareRound = n / ((Measured.threadCpuNs() - t0) / 1e9);
            Measured m = Measured.run(ssd, null);
            bare = Math.max(bare, bareRound);
            model = Measured.best(model, m);
            ratios.add(m.eventsPerSecond() / bareRound); // a round's pair ran under the same load
        }
        Measured wideRun = null;
        for (int r = 0; r < rounds; r++) {
            wideRun = Measured.best(wideRun, Measured.run(wide, null));
        }

        row("bare event loop", si(bare) + "events/s", "", "");
        row("model, overcommit-ssd", si(model.eventsPerSecond()) + "events/s", "", "");
        double ratio = median(ratios);
        row("  model / bare loop", f2(ratio), ">= 0.6", met(ratio >= 0.6));
        row("real time, overcommit-ssd (4 vCPUs), 1 core", f2(model.realTimeFactor()) + "x real time", ">= 10x",
                met(model.realTimeFactor() >= 10));
        row("  against wall time", f2(model.wallRealTimeFactor()) + "x real time", "", "");
        row("real time, 64-vCPU variant, 1 core", f2(wideRun.realTimeFactor()) + "x real time", "", "");
        row("engine events per async PF cycle", f2(model.eventsPerAsyncPf()), "", "");
        row("  64-vCPU variant", f2(wideRun.eventsPerAsyncPf()), "", "");
        row("  besides: vCPU steps run without an event", f2(model.inlineStepsPerAsyncPf()) + " (64 vCPUs: "
                + f2(wideRun.inlineStepsPerAsyncPf()) + ")", "", "");
        row("bytes allocated per engine event", f2(model.bytesPerEvent()), "", "");
        row("bytes allocated per async PF cycle", String.format(Locale.ROOT, "%.0f",
                model.allocatedBytes() / (double) model.asyncPfs()), "", "");
        row("async PFs per simulated second", String.format(Locale.ROOT, "%,.0f",
                model.asyncPfs() / (model.simulatedNs() / 1e9)), "", "");

        checkThroughput(cores);
        traceCost(ssd.withDuration(Long.getLong("traceDurationNs", 1_000_000_000L)));
        print();
        breakdown(ssd);
    }

    /** {@code apfsim check} on seed-001-page-ready (fixed: no violation, so every run is explored). */
    private void checkThroughput(int cores) throws Exception {
        int runs = Integer.getInteger("checkRuns", 2000);
        Scenario s = BuiltinScenarios.load("seed-001-page-ready", List.of());
        Explorer.explore(s, new Explorer.Options(runs / 4, 99, cores, 0), n -> { }); // warm-up
        double one = 0;
        double all = 0;
        List<Double> scalings = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            double o = Explorer.explore(s, new Explorer.Options(runs, 1, 1, 0), n -> { }).runsPerSecond();
            double a = Explorer.explore(s, new Explorer.Options(runs, 1, cores, 0), n -> { }).runsPerSecond();
            one = Math.max(one, o);
            all = Math.max(all, a);
            scalings.add(a / o);
        }
        row("check seed-001-page-ready, 1 thread", String.format(Locale.ROOT, "%,.0f runs/s", one), "", "");
        row("check, " + cores + " threads", String.format(Locale.ROOT, "%,.0f runs/s", all), "", "");
        double scaling = median(scalings);
        row("  scaling", f2(scaling) + "x", cores == 2 ? ">= 1.8x" : "", cores == 2 ? met(scaling >= 1.8) : "");
    }

    /** CPU (and wall) time of a run writing each trace output against the same run writing none. */
    private void traceCost(Scenario s) throws IOException {
        Path dir = Files.createTempDirectory("apfsim-bench");
        Map<String, Function<Machine, TraceSink>> outputs = new LinkedHashMap<>();
        outputs.put("--trace r.json (Perfetto JSON)", m -> open(() -> PerfettoWriter.open(dir.resolve("r.json"), m)));
        outputs.put("--trace r.pftrace (Perfetto protobuf)", m -> open(() -> PerfettoProtoWriter.open(
                dir.resolve("r.pftrace"), m, TraceFilter.ALL_EVENTS)));
        outputs.put("--trace r.txt (ftrace text)", m -> open(() -> new FtraceWriter(dir.resolve("r.txt"))));
        outputs.put("--events r.ndjson", m -> open(() -> new NdjsonWriter(dir.resolve("r.ndjson"))));
        try {
            Map<String, List<Double>> cost = new LinkedHashMap<>();
            Map<String, List<Double>> wall = new LinkedHashMap<>();
            Map<String, Long> sizes = new LinkedHashMap<>();
            for (int r = 0; r < rounds; r++) {
                Measured none = Measured.run(s, null); // each output against a run without, just before it
                for (var o : outputs.entrySet()) {
                    Measured with = Measured.run(s, o.getValue());
                    cost.computeIfAbsent(o.getKey(), k -> new ArrayList<>()).add(with.cpuNs() / (double) none.cpuNs());
                    wall.computeIfAbsent(o.getKey(), k -> new ArrayList<>()).add(with.wallNs() / (double) none.wallNs());
                    long bytes = 0;
                    try (var files = Files.list(dir)) {
                        for (Path f : files.toList()) {
                            bytes += Files.size(f);
                            Files.delete(f);
                        }
                    }
                    sizes.put(o.getKey(), bytes);
                }
            }
            for (String o : outputs.keySet()) {
                double c = median(cost.get(o));
                row("trace cost " + o, f2(c) + "x (wall " + f2(median(wall.get(o))) + "x), "
                        + sizes.get(o) * 1_000_000_000L / s.durationNs() / 1_000_000 + " MB per simulated s",
                        "<= 2x", met(c <= 2));
            }
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    private void breakdown(Scenario s) {
        EventBreakdown b = EventBreakdown.of(s);
        System.out.printf(Locale.ROOT, "%nengine events per async PF cycle on %s, by handler (%.2f in all):%n",
                s.name(), b.events / (double) b.cycles);
        b.lines(b.engine, 20).forEach(System.out::println);
        System.out.printf(Locale.ROOT, "%nsteps per async PF cycle run as continuations, without an engine event "
                + "(nothing else was due first), by handler (%.2f in all):%n", b.inlineSteps / (double) b.cycles);
        b.lines(b.inline, 20).forEach(System.out::println);
        System.out.printf(Locale.ROOT, "%ncanonical trace events per async PF cycle, by name (%.2f in all):%n",
                b.traceEvents / (double) b.cycles);
        b.lines(b.trace, 30).forEach(System.out::println);
    }

    // ---- output --------------------------------------------------------------------------------------------

    private void row(String figure, String value, String target, String met) {
        table.add(new String[]{figure, value, target, met});
    }

    private void print() {
        int[] w = {6, 5, 6, 3};
        for (String[] r : table) {
            for (int i = 0; i < 4; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        String fmt = "%-" + w[0] + "s  %" + w[1] + "s  %-" + w[2] + "s  %s%n";
        System.out.printf(fmt, "figure", "value", "target", "met");
        for (String[] r : table) {
            System.out.printf(fmt, (Object[]) r);
        }
    }

    static double median(List<Double> xs) {
        List<Double> sorted = new ArrayList<>(xs);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String met(boolean ok) {
        return ok ? "yes" : "no";
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String si(double v) {
        return v >= 1e6 ? String.format(Locale.ROOT, "%.2f M", v / 1e6) : String.format(Locale.ROOT, "%.0f k", v / 1e3);
    }

    interface Opener {
        TraceSink open() throws IOException;
    }

    private static TraceSink open(Opener o) {
        try {
            return o.open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
