package dev.apfsim.realkvm.diff;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apfsim.realkvm.events.Cycle;
import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.realkvm.events.Timing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The outcome of {@link ConformDiff#compare}: match, or the first difference; both sides' ends, loops, timing. */
public record DiffReport(String scenario, boolean match, Side a, Side b, Difference difference) {

    public enum Kind { EVENT, LOOP, END }

    /** One side's summary: its end, events per vCPU, loops per vCPU and timing figures. */
    public record Side(String name, RunEnd end, Map<Integer, Integer> events, Map<Integer, Loop> loops,
                       Timing timing) {
        /** Loop cycles per second over the vCPUs that loop (their sum), 0 if none does. */
        public double cyclesPerSecond() {
            return loops.values().stream().mapToDouble(Loop::cyclesPerSecond).sum();
        }
    }

    public record Loop(int start, int period, double cycles, double cyclesPerSecond, List<String> shape) {
        static Loop of(Cycle c) {
            return new Loop(c.start(), c.period(), c.cycles(), c.cyclesPerSecond(), c.shape());
        }
    }

    /** Where the sequences part: vCPU, index in its canonical sequence, and the events around it. */
    public record Difference(Kind kind, int vcpu, int index, String what, List<Line> contextA, List<Line> contextB) {
    }

    public record Line(int index, String event, boolean here) {
    }

    /** One line for a suite listing. */
    public String summaryLine() {
        if (match) {
            String loop = a.loops().isEmpty() ? "" : String.format(", loop %.0f vs %.0f cycles/s",
                    a.cyclesPerSecond(), b.cyclesPerSecond());
            return String.format("%-28s match (%s%s)", scenario, a.end().label(), loop);
        }
        if (difference.kind() == Kind.END) {
            return String.format("%-28s DIFFERENT: %s %s, %s %s", scenario, a.name(), a.end(), b.name(), b.end());
        }
        return String.format("%-28s DIFFERENT at vcpu%d event %d: %s", scenario, difference.vcpu(),
                difference.index(), difference.what());
    }

    /** The full text: verdict, the difference with context side by side, ends, timing figures. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append(scenario).append(": ").append(match ? "match" : "DIFFERENT").append('\n');
        if (difference != null) {
            if (difference.kind() != Kind.END) {
                sb.append(String.format("first difference: vcpu%d event %d: %s%n", difference.vcpu(),
                        difference.index(), difference.what()));
                int w = Math.max(a.name().length(), difference.contextA().stream()
                        .mapToInt(l -> l.event().length() + 8).max().orElse(20));
                sb.append(String.format("  %-" + w + "s | %s%n", a.name(), b.name()));
                int rows = Math.max(difference.contextA().size(), difference.contextB().size());
                for (int i = 0; i < rows; i++) {
                    sb.append(String.format("  %-" + w + "s | %s%n", cell(difference.contextA(), i),
                            cell(difference.contextB(), i)));
                }
            }
        }
        sb.append(String.format("end: %s %s | %s %s%n", a.name(), a.end(), b.name(), b.end()));
        for (Side s : List.of(a, b)) {
            s.loops().forEach((v, l) -> sb.append(String.format("loop: %s vcpu%d from event %d, period %d, %.0f"
                    + " cycles, %.0f cycles/s: %s%n", s.name(), v, l.start(), l.period(), l.cycles(),
                    l.cyclesPerSecond(), l.shape())));
        }
        sb.append(String.format("timing (µs: median [min-max] n)   %-30s | %s%n", a.name(), b.name()));
        for (String[] row : timingRows()) {
            sb.append(String.format("  %-32s %-30s | %s%n", row[0], row[1], row[2]));
        }
        return sb.toString();
    }

    private static String cell(List<Line> l, int i) {
        if (i >= l.size()) {
            return "";
        }
        Line x = l.get(i);
        return (x.here() ? "> " : "  ") + String.format("%4d ", x.index()) + x.event();
    }

    private List<String[]> timingRows() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"fault -> not-present injection", a.timing().faultToInjection().toString(),
                b.timing().faultToInjection().toString()});
        rows.add(new String[] {"completed -> page-ready", a.timing().completedToReady().toString(),
                b.timing().completedToReady().toString()});
        rows.add(new String[] {"page-ready -> ACK", a.timing().readyToAck().toString(),
                b.timing().readyToAck().toString()});
        if (!a.loops().isEmpty() || !b.loops().isEmpty()) {
            rows.add(new String[] {"loop cycles/s", String.format("%.0f", a.cyclesPerSecond()),
                    String.format("%.0f", b.cyclesPerSecond())});
        }
        return rows;
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The report as JSON: the records' fields, plus the summary line. */
    public String toJson() {
        ObjectNode n = JSON.valueToTree(this);
        n.put("summary", summaryLine());
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
