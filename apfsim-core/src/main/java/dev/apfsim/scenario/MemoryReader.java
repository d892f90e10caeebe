package dev.apfsim.scenario;

import dev.apfsim.memory.FailureRule;
import org.snakeyaml.engine.v2.nodes.Node;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.apfsim.scenario.NodeReader.PAGE;
import static dev.apfsim.scenario.NodeReader.ordered;

/** The {@code memory} section: the initial state of guest page ranges, and the failure rules. */
final class MemoryReader {
    private static final Map<String, MemoryRegion.State> STATES = ordered(
            "untouched", MemoryRegion.State.UNTOUCHED, "resident", MemoryRegion.State.RESIDENT,
            "swapped", MemoryRegion.State.SWAPPED, "remote", MemoryRegion.State.REMOTE);

    private static final Map<String, FailureRule.Kind> KINDS = ordered(
            "sigbus", FailureRule.Kind.SIGBUS, "unmapped", FailureRule.Kind.UNMAPPED,
            "hwpoison", FailureRule.Kind.HWPOISON, "never", FailureRule.Kind.NEVER,
            "spurious-wake", FailureRule.Kind.SPURIOUS_WAKE, "zero-fill", FailureRule.Kind.ZERO_FILL);

    private final NodeReader r;
    private final GuestRanges ranges;

    MemoryReader(NodeReader r, GuestRanges ranges) {
        this.r = r;
        this.ranges = ranges;
    }

    /** {@code memory.regions}: page ranges in a given state, none overlapping another. */
    List<MemoryRegion> regions(MapView mem) {
        List<MemoryRegion> out = new ArrayList<>();
        List<Node> items = r.list(mem.get("regions"), mem.path("regions"), "regions");
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String p = mem.path("regions") + "[" + i + "]";
            MapView m = r.map(items.get(i), p, Schema.REGION.fields().keySet(),
                    "a region {start, size, state}");
            if (m.node() == null || Yaml.isNull(m.node())) {
                throw r.error(items.get(i), p, "expected a region {start, size, state}, got nothing");
            }
            GuestRanges.Range range = ranges.range(m, "region", true);
            MemoryRegion.State state = r.choice(r.require(m, "state", "one of " + String.join(", ", STATES.keySet())),
                    m.path("state"), STATES);
            for (int j = 0; j < out.size(); j++) {
                MemoryRegion o = out.get(j);
                if (range.start() < o.start() + o.size() && o.start() < range.start() + range.size()) {
                    Node at = m.has("start") ? m.get("start") : m.get("size");
                    throw r.error(at, m.path(m.has("start") ? "start" : "size"), "region "
                            + Units.formatHex(range.start()) + ".." + Units.formatHex(range.start() + range.size())
                            + " overlaps " + paths.get(j) + " (" + Units.formatHex(o.start()) + ".."
                            + Units.formatHex(o.start() + o.size()) + ")");
                }
            }
            out.add(new MemoryRegion(range.start(), range.size(), state));
            paths.add(p);
        }
        return out;
    }

    /** {@code memory.failures}: ranges of guest frames that fail in one way, during a time window. */
    List<FailureRule> failures(MapView mem) {
        List<FailureRule> out = new ArrayList<>();
        List<Node> items = r.list(mem.get("failures"), mem.path("failures"), "failures");
        for (int i = 0; i < items.size(); i++) {
            String p = mem.path("failures") + "[" + i + "]";
            MapView f = r.map(items.get(i), p, Schema.FAILURE.fields().keySet(),
                    "a failure {kind, start, size, fraction, from, until}");
            if (f.node() == null || Yaml.isNull(f.node())) {
                throw r.error(items.get(i), p, "expected a failure {kind, start, ...}, got nothing");
            }
            FailureRule.Kind kind = r.choice(r.require(f, "kind", "one of " + String.join(", ", KINDS.keySet())),
                    f.path("kind"), KINDS);
            // start is required here (docs/scenarios.md#memoryfailures); GuestRanges alone would default it to 0
            r.require(f, "start", "an address like 0x300000");
            GuestRanges.Range range = ranges.range(f, "failure range", false);
            double fraction = r.fraction(f, "fraction", 1.0);
            long from = r.durField(f, "from", 0);
            long until = Long.MAX_VALUE;
            if (f.has("until")) {
                Node un = f.get("until");
                String text = r.scalar(un, f.path("until"), "a duration or forever");
                if (!text.strip().equals("forever")) {
                    until = r.duration(un, f.path("until"));
                    if (until <= from) {
                        throw r.error(un, f.path("until"), "expected a time after from ("
                                + Units.formatDuration(from) + ") or forever, got " + text.strip());
                    }
                }
            }
            out.add(new FailureRule(kind, range.start() / PAGE, range.size() / PAGE, fraction, from, until));
        }
        return out;
    }
}
