package dev.apfsim.campaign;

import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.scenario.ScenarioWriter;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.workload.TaskSpec;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A sweep: grid points x seeds. Row {@code r} is grid point {@code r / seeds} with the point's seed plus
 * {@code r % seeds}. Each point travels as the YAML of its scenario ({@link ScenarioWriter} round-trips exactly),
 * so every engine runs the very same scenario: threads here, a Spark executor far away.
 */
public final class SweepCampaign implements Campaign {
    /** One grid point: its label, the values of the varied fields (in {@code varied} order) and its scenario. */
    public record Point(String label, List<String> values, String yaml) implements Serializable {
        public Point {
            values = List.copyOf(values);
        }

        public static Point of(String label, List<String> values, Scenario scenario) {
            return new Point(label, values, ScenarioWriter.toYaml(scenario));
        }
    }

    private static final List<String> LATENCIES = List.of("fault_to_ready", "task_wait", "sync_fault");

    private final String scenario;
    private final List<String> varied;
    private final List<Point> points;
    private final int seeds;
    private final List<String> groups;
    private final Table table;
    private final List<String> pointHashes;
    private transient Scenario[] parsed;

    /**
     * @param scenario the scenario's name
     * @param varied   the --vary fields, in order (each point has one value per field)
     * @param points   the grid, in order
     * @param seeds    seeds per grid point
     */
    public SweepCampaign(String scenario, List<String> varied, List<Point> points, int seeds) {
        if (points.isEmpty() || seeds < 1) {
            throw new IllegalArgumentException("a sweep needs at least one grid point and one seed");
        }
        this.scenario = scenario;
        this.varied = List.copyOf(varied);
        this.points = List.copyOf(points);
        this.seeds = seeds;
        List<String> hashes = new ArrayList<>();
        for (Point p : points) {
            if (p.values().size() != varied.size()) {
                throw new IllegalArgumentException("grid point " + p.label() + " has " + p.values().size()
                        + " values for " + varied.size() + " varied fields");
            }
            hashes.add(Campaign.hash(p.yaml()));
        }
        this.pointHashes = List.copyOf(hashes);
        this.groups = taskGroups(scenario(0));
        this.table = Table.of(header());
    }

    @Override
    public String kind() {
        return "sweep";
    }

    @Override
    public String scenario() {
        return scenario;
    }

    @Override
    public long size() {
        return (long) points.size() * seeds;
    }

    @Override
    public Table table() {
        return table;
    }

    public List<Point> points() {
        return points;
    }

    public int seeds() {
        return seeds;
    }

    @Override
    public String settingsHash(long index) {
        int g = grid(index);
        return Campaign.hash(pointHashes.get(g), Long.toString(seed(index)));
    }

    private int grid(long index) {
        if (index < 0 || index >= size()) {
            throw new IndexOutOfBoundsException("row " + index + " of a sweep of " + size() + " rows");
        }
        return (int) (index / seeds);
    }

    private long seed(long index) {
        return scenario(grid(index)).seed() + index % seeds;
    }

    /** The scenario of grid point {@code g}, parsed once per JVM from its YAML. */
    private synchronized Scenario scenario(int g) {
        if (parsed == null) {
            parsed = new Scenario[points.size()];
        }
        if (parsed[g] == null) {
            parsed[g] = ScenarioLoader.load(scenario + ".yaml", points.get(g).yaml());
        }
        return parsed[g];
    }

    /** The scenario row {@code index} runs. */
    public Scenario rowScenario(long index) {
        Scenario s = scenario(grid(index));
        return s.withSeed(s.seed() + index % seeds);
    }

    @Override
    public Row run(long index) {
        Scenario s = rowScenario(index);
        RunResult r = new Machine(s).run();
        return new Row(table.values(values(index, r)), Results.json(r));
    }

    @Override
    public boolean violated(List<Object> values) {
        Object v = values.get(table.indexOf("violations"));
        return v instanceof Long n && n > 0;
    }

    /** Task groups as named in the scenario (a statistical task with count N is one group). */
    private static List<String> taskGroups(Scenario s) {
        List<String> g = new ArrayList<>();
        for (TaskSpec t : s.tasks()) {
            g.add(t.name());
        }
        return g;
    }

    private List<String> header() {
        List<String> h = new ArrayList<>(List.of(Table.RUN, "grid", "label", "apf"));
        h.addAll(varied);
        h.addAll(List.of("seed", Table.SETTINGS_HASH, "outcome", "simulated_ns", "events", "total_ops"));
        for (String g : groups) {
            h.add("ops_per_second." + g);
        }
        for (TimeCategory c : TimeCategory.values()) {
            h.add("vcpu_time." + c.key() + "_ns");
        }
        for (String lat : LATENCIES) {
            for (String p : List.of("count", "p50_ns", "p99_ns", "p999_ns", "max_ns")) {
                h.add(lat + "." + p);
            }
        }
        for (Counter c : Counter.values()) {
            h.add("counters." + c.key());
        }
        h.addAll(List.of("failure.time_to_detection_ns", "failure.error_cycles", "violations", "fingerprint"));
        return h;
    }

    private List<Object> values(long index, RunResult r) {
        int g = grid(index);
        Point p = points.get(g);
        List<Object> row = new ArrayList<>(List.of(index, g, p.label(), r.apf()));
        row.addAll(p.values());
        row.addAll(List.of(r.seed(), settingsHash(index), r.outcome().kind(), r.simulatedNs(), r.events(),
                Results.totalOps(r)));
        double secs = r.simulatedNs() / 1e9;
        for (String group : groups) {
            long ops = 0;
            for (RunResult.TaskResult t : r.tasks()) {
                if (t.name().equals(group) || t.name().startsWith(group + "-")) {
                    ops += t.ops();
                }
            }
            row.add(secs > 0 ? ops / secs : 0.0);
        }
        for (TimeCategory c : TimeCategory.values()) {
            long ns = 0;
            for (RunResult.VcpuResult v : r.vcpus()) {
                ns += v.timeNs().getOrDefault(c.key(), 0L);
            }
            row.add(ns);
        }
        for (String lat : LATENCIES) {
            Map<String, Object> l = r.latencies().get(lat);
            for (String k : List.of("count", "p50_ns", "p99_ns", "p999_ns", "max_ns")) {
                row.add(l == null ? null : l.get(k));
            }
        }
        for (Counter c : Counter.values()) {
            row.add(r.counter(c.key()));
        }
        RunResult.FailureResult f = r.failure();
        row.add(f == null ? null : f.timeToDetectionNs());
        row.add(f == null ? 0L : f.errorCycles());
        row.add((long) r.violations().size());
        row.add(r.fingerprint());
        return row;
    }
}
