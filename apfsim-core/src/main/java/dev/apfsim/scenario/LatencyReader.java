package dev.apfsim.scenario;

import dev.apfsim.memory.LatencyDistribution;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A LATENCY value (docs/scenarios.md#latency): a plain duration (constant), a device preset name, or a mapping of
 * one of the distribution types, whose type may be left out when its fields tell.
 */
final class LatencyReader {
    private static final List<String> LATENCY_TYPES = List.of("constant", "exponential", "lognormal", "empirical");

    private final NodeReader r;

    LatencyReader(NodeReader r) {
        this.r = r;
    }

    private String latencyHint() {
        return "a duration like 50us, a device preset (" + String.join(", ", LatencyPresets.all().keySet())
                + ") or a mapping with type: " + String.join(" | ", LATENCY_TYPES);
    }

    /**
     * A LATENCY value.
     *
     * @param def the field's default, or null if the field is required. A mapping may leave out {@code type} when
     *            its fields tell (value: constant, mean: exponential, median/p99: lognormal, points: empirical;
     *            no fields: the default's type), and fields it leaves out are taken from {@code def} when that
     *            has the same type, so {@code --set host.swap.latency.median=50us} keeps the default p99.
     */
    LatencyDistribution latency(Node n, String path, LatencyDistribution def) {
        if (n instanceof ScalarNode s && !Yaml.isNull(n)) {
            String text = s.getValue().strip();
            if (!text.isEmpty() && (Character.isDigit(text.charAt(0)) || text.charAt(0) == '.'
                    || text.charAt(0) == '-' || text.charAt(0) == '+')) {
                return new LatencyDistribution.Constant(r.duration(n, path));
            }
            LatencyPresets.Preset p = LatencyPresets.get(text.toLowerCase(Locale.ROOT));
            if (p == null) {
                String sug = Yaml.suggest(text, LatencyPresets.all().keySet());
                throw r.error(n, path, "expected " + latencyHint() + ", got " + Units.quote(s.getValue())
                        + (sug.isEmpty() ? "" : " (" + sug.strip() + ")"));
            }
            return p.latency();
        }
        if (!(n instanceof MappingNode)) {
            throw r.error(n, path, "expected " + latencyHint() + ", got " + Yaml.describe(n));
        }
        MapView any = r.map(n, path, Schema.LATENCY.fields().keySet(), "a latency");
        String type;
        if (any.has("type")) {
            type = r.choice(any.get("type"), any.path("type"), NodeReader.names(LATENCY_TYPES));
        } else {
            type = inferType(any, def);
        }
        // Schema.LATENCY is the union of all types' fields; each type takes only its own
        List<String> keys = switch (type) {
            case "constant" -> List.of("type", "value");
            case "exponential" -> List.of("type", "mean");
            case "lognormal" -> List.of("type", "median", "p99");
            default -> List.of("type", "points");
        };
        for (String k : any.entries().keySet()) {
            if (!keys.contains(k)) {
                throw r.error(any.keyNode(k), any.path(k), "unknown field for a " + type + " latency (fields: "
                        + String.join(", ", keys) + ")");
            }
        }
        return switch (type) {
            case "constant" -> new LatencyDistribution.Constant(any.has("value")
                    ? r.duration(any.get("value"), any.path("value"))
                    : def instanceof LatencyDistribution.Constant c ? c.ns()
                    : r.duration(r.require(any, "value", "a duration"), any.path("value")));
            case "exponential" -> new LatencyDistribution.Exponential(any.has("mean")
                    ? r.duration(any.get("mean"), any.path("mean"), 1)
                    : def instanceof LatencyDistribution.Exponential e ? e.meanNs()
                    : r.duration(r.require(any, "mean", "a duration"), any.path("mean"), 1));
            case "lognormal" -> {
                LatencyDistribution.LogNormal d = def instanceof LatencyDistribution.LogNormal l ? l : null;
                long median = any.has("median") || d == null
                        ? r.duration(r.require(any, "median", "a duration"), any.path("median"), 1) : d.medianNs();
                long p99 = any.has("p99") || d == null
                        ? r.duration(r.require(any, "p99", "a duration at least the median"), any.path("p99"))
                        : d.p99Ns();
                if (p99 < median) {
                    if (any.has("p99")) {
                        Node p99n = any.get("p99");
                        throw r.error(p99n, any.path("p99"), "expected a p99 at least the median ("
                                + Units.formatDuration(median) + "), got " + r.scalar(p99n, "", "").strip());
                    }
                    // only the median was written: the p99 it clashes with is the default's
                    Node mn = any.get("median");
                    throw r.error(mn, any.path("median"), "expected a median at most the p99 ("
                            + Units.formatDuration(p99) + ", the default; set p99 too), got "
                            + r.scalar(mn, "", "").strip());
                }
                yield new LatencyDistribution.LogNormal(median, p99);
            }
            default -> any.has("points") || !(def instanceof LatencyDistribution.Empirical e)
                    ? empirical(r.require(any, "points", "a list of [duration, cumulative probability]"),
                    any.path("points"))
                    : e;
        };
    }

    private String inferType(MapView m, LatencyDistribution def) {
        Set<String> given = m.entries().keySet();
        String type = null;
        if (given.isEmpty()) {
            type = def == null ? null : switch (def) {
                case LatencyDistribution.Constant c -> "constant";
                case LatencyDistribution.Exponential e -> "exponential";
                case LatencyDistribution.LogNormal l -> "lognormal";
                case LatencyDistribution.Empirical e -> "empirical";
            };
        } else if (given.equals(Set.of("value"))) {
            type = "constant";
        } else if (given.equals(Set.of("mean"))) {
            type = "exponential";
        } else if (Set.of("median", "p99").containsAll(given)) {
            type = "lognormal";
        } else if (given.equals(Set.of("points"))) {
            type = "empirical";
        }
        if (type == null) {
            throw r.error(m.node(), m.path("type"), "missing required field (one of "
                    + String.join(", ", LATENCY_TYPES) + (given.isEmpty() ? ""
                    : "; the fields " + String.join(", ", given) + " do not tell which") + ")");
        }
        return type;
    }

    private LatencyDistribution empirical(Node n, String path) {
        List<Node> items = r.list(n, path, "[duration, cumulative probability] points");
        if (items.isEmpty()) {
            throw r.error(n, path, "expected at least one [duration, cumulative probability] point, got "
                    + Yaml.describe(n));
        }
        List<LatencyDistribution.Empirical.Point> points = new ArrayList<>();
        long prevNs = -1;
        double prevC = -1;
        for (int i = 0; i < items.size(); i++) {
            Node item = items.get(i);
            String ip = path + "[" + i + "]";
            if (!(item instanceof SequenceNode pair) || pair.getValue().size() != 2) {
                throw r.error(item, ip, "expected a point [duration, cumulative probability] like [50us, 0.9], got "
                        + Yaml.describe(item));
            }
            Node dn = pair.getValue().get(0);
            Node cn = pair.getValue().get(1);
            long ns = r.duration(dn, ip + "[0]");
            double c = r.number(cn, ip + "[1]", 0, 1, false, "a cumulative probability");
            if (ns < prevNs) {
                throw r.error(dn, ip + "[0]", "expected latencies in increasing order: at least "
                        + Units.formatDuration(prevNs) + ", got " + r.scalar(dn, "", "").strip());
            }
            if (c <= prevC) {
                throw r.error(cn, ip + "[1]", "expected cumulative probabilities in increasing order: more than "
                        + NodeReader.fmt(prevC) + ", got " + r.scalar(cn, "", "").strip());
            }
            if (c == 0 && i > 0) {
                throw r.error(cn, ip + "[1]", "expected a cumulative probability above 0 (only the first point may "
                        + "have 0), got " + r.scalar(cn, "", "").strip());
            }
            points.add(new LatencyDistribution.Empirical.Point(ns, c));
            prevNs = ns;
            prevC = c;
        }
        if (prevC != 1.0) {
            Node lastC = ((SequenceNode) items.getLast()).getValue().get(1);
            throw r.error(lastC, path + "[" + (items.size() - 1) + "][1]",
                    "expected the last cumulative probability to be 1.0, got " + r.scalar(lastC, "", "").strip());
        }
        return new LatencyDistribution.Empirical(List.copyOf(points));
    }
}
