package dev.apfsim.scenario;

import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.workload.Pattern;
import dev.apfsim.workload.TaskSpec;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code workload} section: the task list, with the fields common to both task types and the statistical tasks
 * (compute bursts, working set, access pattern); script tasks are read by {@link ScriptReader}.
 */
final class WorkloadReader {
    private final NodeReader r;
    private final LatencyReader latencies;
    private final GuestRanges ranges;
    private final ScriptReader scripts;

    WorkloadReader(NodeReader r, LatencyReader latencies, GuestRanges ranges, ScriptReader scripts) {
        this.r = r;
        this.latencies = latencies;
        this.ranges = ranges;
        this.scripts = scripts;
    }

    /** @param vcpus {@code vm.vcpus}, the bound of every task's {@code cpu} */
    List<TaskSpec> tasks(MapView w, int vcpus) {
        List<TaskSpec> out = new ArrayList<>();
        Map<String, String> names = new HashMap<>();
        List<Node> items = r.list(w.get("tasks"), w.path("tasks"), "tasks");
        for (int i = 0; i < items.size(); i++) {
            String p = w.path("tasks") + "[" + i + "]";
            Node item = items.get(i);
            if (!(item instanceof MappingNode)) {
                throw r.error(item, p, "expected a task mapping with type: statistical or type: script, got "
                        + Yaml.describe(item));
            }
            // Schema.TASK is the union of both types' fields; the type then narrows what is allowed
            MapView any = r.map(item, p, Schema.TASK.fields().keySet(), "a task");
            String type = r.choice(r.require(any, "type", "statistical or script"), any.path("type"),
                    NodeReader.names(List.of("statistical", "script")));
            Schema.Obj shape = type.equals("script") ? Schema.SCRIPT_TASK : Schema.STATISTICAL_TASK;
            for (String k : any.entries().keySet()) {
                if (!shape.has(k)) {
                    throw r.error(any.keyNode(k), any.path(k), "unknown field for a " + type + " task (fields: "
                            + String.join(", ", shape.fields().keySet()) + ")");
                }
            }
            Node nameNode = r.require(any, "name", "a string");
            String name = r.nonEmpty(nameNode, any.path("name"));
            String earlier = names.putIfAbsent(name, p);
            if (earlier != null) {
                throw r.error(nameNode, any.path("name"), "task name " + Units.quote(name) + " is already used by "
                        + earlier);
            }
            int cpu = 0;
            if (any.has("cpu")) {
                Node cn = any.get("cpu");
                long c = r.integer(cn, any.path("cpu"), 0, Integer.MAX_VALUE);
                if (c >= vcpus) {
                    throw r.error(cn, any.path("cpu"), "expected a vCPU index from 0 to " + (vcpus - 1)
                            + " (vm.vcpus is " + vcpus + "), got " + c);
                }
                cpu = (int) c;
            }
            out.add(type.equals("script") ? scripts.script(any, name, cpu) : statistical(any, name, cpu));
        }
        return out;
    }

    private TaskSpec statistical(MapView t, String name, int cpu) {
        int count = r.intField(t, "count", 1, 65_536, 1);
        LatencyDistribution compute = latencies.latency(
                r.require(t, "compute", "a LATENCY: the compute burst per operation"), t.path("compute"), null);
        int touches = r.intField(t, "touches_per_op", 0, 1_000_000, 1);
        long wsStart = 0;
        long wsBytes = 0;
        if (t.has("working_set") || touches > 0) {
            Node wn = t.get("working_set");
            if (wn == null) {
                throw r.error(t.node(), t.path("working_set"), "missing required field (a mapping {start, size}; "
                        + "only a task with touches_per_op: 0 may leave it out)");
            }
            MapView ws = r.section(t, "working_set", Schema.WORKING_SET);
            if (ws.node() == null || Yaml.isNull(ws.node())) {
                throw r.error(wn, t.path("working_set"), "expected a mapping {start, size}, got nothing");
            }
            // a CPU-bound task may keep an empty working set, which no page range can express
            GuestRanges.Range range = touches == 0 && ws.get("size") != null && isZero(ws.get("size"))
                    ? new GuestRanges.Range(ws.has("start") ? ranges.addressUpToEnd(ws.get("start"), ws.path("start")) : 0, 0)
                    : ranges.range(ws, "working set", true);
            wsStart = range.start();
            wsBytes = range.size();
        }
        Pattern pattern = t.has("pattern") ? pattern(t.get("pattern"), t.path("pattern")) : new Pattern.Uniform();
        double write = r.fraction(t, "write_fraction", 0);
        double kernel = r.fraction(t, "kernel_fraction", 0);
        double irqOff = r.fraction(t, "irq_off_fraction", 0);
        long maxOps = t.has("max_ops") ? r.integer(t.get("max_ops"), t.path("max_ops"), 0, Long.MAX_VALUE) : 0;
        if (maxOps == 0 && compute instanceof LatencyDistribution.Constant c && c.ns() == 0) {
            // nothing else in an operation takes time once its pages are mapped: it would loop at one instant
            throw r.error(t.get("compute"), t.path("compute"), "a compute burst of 0 makes no progress: the task "
                    + "would run operations forever at one simulated instant (touches of mapped pages take no "
                    + "time); give compute at least 1ns, or set max_ops");
        }
        return new TaskSpec.Statistical(name, cpu, count, compute, touches, wsStart, wsBytes, pattern, write,
                kernel, irqOff, maxOps);
    }

    private static boolean isZero(Node n) {
        try {
            return n instanceof ScalarNode s && Units.parseSize(s.getValue()) == 0;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private Pattern pattern(Node n, String path) {
        String expected = "uniform, sequential, {zipfian: THETA} or {hot_cold: {hot_fraction: F, "
                + "hot_probability: P}}";
        if (n instanceof ScalarNode s && !Yaml.isNull(n)) {
            return switch (s.getValue().strip()) {
                case "uniform" -> new Pattern.Uniform();
                case "sequential" -> new Pattern.Sequential();
                default -> throw r.error(n, path, "expected " + expected + ", got " + Units.quote(s.getValue()));
            };
        }
        if (!(n instanceof MappingNode m) || m.getValue().size() != 1) {
            throw r.error(n, path, "expected " + expected + ", got " + Yaml.describe(n)
                    + (n instanceof MappingNode ? " with " + ((MappingNode) n).getValue().size() + " fields" : ""));
        }
        MapView pm = r.map(n, path, Schema.PATTERN.fields().keySet(), expected);
        if (pm.has("zipfian")) {
            return new Pattern.Zipfian(r.number(pm.get("zipfian"), pm.path("zipfian"), 0, 100, true,
                    "a Zipf exponent"));
        }
        MapView hc = r.section(pm, "hot_cold", Schema.HOT_COLD);
        double hf = r.number(r.require(hc, "hot_fraction", "the hot share of the working set, 0 to 1"),
                hc.path("hot_fraction"), 0, 1, true, "a fraction");
        double hp = r.number(r.require(hc, "hot_probability", "the share of touches that go to the hot pages"),
                hc.path("hot_probability"), 0, 1, false, "a fraction");
        return new Pattern.HotCold(hf, hp);
    }
}
