package dev.apfsim.realkvm.diff;

import dev.apfsim.realkvm.events.ApfEvent;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.events.Cycle;
import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.realkvm.events.Timing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Compares two APF event sequences vCPU by vCPU in their race-free order, and their ends.
 * <ul>
 *   <li>Both ended (finished, EFAULT, ...): the whole sequences must be equal and end the same way.</li>
 *   <li>Both still running at their limits: each is a prefix of its infinite behaviour, so the common
 *       length must be equal, and both must end in the same loop (same period, same shape).</li>
 *   <li>Otherwise the ends differ, which is itself a difference.</li>
 * </ul>
 * The first difference is reported with {@link #CONTEXT} events either side on both sides.
 */
public final class ConformDiff {
    private ConformDiff() {
    }

    public static final int CONTEXT = 3;

    public static DiffReport compare(String scenario, ApfTrace a, ApfTrace b) {
        Map<Integer, List<ApfEvent>> ca = a.canonicalByVcpu();
        Map<Integer, List<ApfEvent>> cb = b.canonicalByVcpu();
        boolean bothRunning = a.end().kind() == RunEnd.Kind.STILL_RUNNING && b.end().kind() == RunEnd.Kind.STILL_RUNNING;
        DiffReport.Difference first = null;
        Map<Integer, DiffReport.Loop> loopsA = new TreeMap<>();
        Map<Integer, DiffReport.Loop> loopsB = new TreeMap<>();
        TreeSet<Integer> vcpus = new TreeSet<>(ca.keySet());
        vcpus.addAll(cb.keySet());
        for (int v : vcpus) {
            List<ApfEvent> ea = ca.getOrDefault(v, List.of());
            List<ApfEvent> eb = cb.getOrDefault(v, List.of());
            Cycle cyA = Cycle.detect(ea);
            Cycle cyB = Cycle.detect(eb);
            if (cyA != null) {
                loopsA.put(v, DiffReport.Loop.of(cyA));
            }
            if (cyB != null) {
                loopsB.put(v, DiffReport.Loop.of(cyB));
            }
            if (first != null) {
                continue;
            }
            // both still running: each is a prefix of an endless run, compared as far as both are complete (a
            // run stopped inside a loop cycle is compared up to the last whole cycle)
            int n = bothRunning ? Math.min(cyA == null ? ea.size() : cyA.end(), cyB == null ? eb.size() : cyB.end())
                    : Math.max(ea.size(), eb.size());
            for (int i = 0; i < n && first == null; i++) {
                String ka = i < ea.size() ? ea.get(i).key() : null;
                String kb = i < eb.size() ? eb.get(i).key() : null;
                if (ka == null || !ka.equals(kb)) {
                    String what = ka == null ? a.side() + " has no more events" : kb == null ? b.side()
                            + " has no more events" : "the events differ";
                    first = new DiffReport.Difference(DiffReport.Kind.EVENT, v, i, what, context(ea, i),
                            context(eb, i));
                }
            }
            if (first == null && bothRunning) {
                first = loopDifference(v, a.side(), b.side(), cyA, cyB, ea, eb);
            }
        }
        if (first == null && a.end().kind() != b.end().kind()) {
            first = new DiffReport.Difference(DiffReport.Kind.END, -1, -1, "the runs end differently", List.of(),
                    List.of());
        }
        Map<Integer, Integer> countA = new TreeMap<>(), countB = new TreeMap<>();
        ca.forEach((v, l) -> countA.put(v, l.size()));
        cb.forEach((v, l) -> countB.put(v, l.size()));
        return new DiffReport(scenario, first == null,
                new DiffReport.Side(a.side(), a.end(), countA, loopsA, Timing.ofVcpus(a.byVcpu().values())),
                new DiffReport.Side(b.side(), b.end(), countB, loopsB, Timing.ofVcpus(b.byVcpu().values())),
                first);
    }

    private static DiffReport.Difference loopDifference(int v, String sa, String sb, Cycle a, Cycle b,
                                                        List<ApfEvent> ea, List<ApfEvent> eb) {
        if (a == null && b == null) {
            return null; // both running without a loop of events (e.g. spinning in the guest): prefixes agreed
        }
        if (a == null || b == null) {
            String who = a == null ? sb : sa;
            String other = a == null ? sa : sb;
            Cycle c = a == null ? b : a;
            return new DiffReport.Difference(DiffReport.Kind.LOOP, v, c.start(), who + " ends in a loop of "
                    + c.period() + " events, " + other + " does not", context(ea, c.start()), context(eb, c.start()));
        }
        if (a.period() != b.period() || !rotationEqual(a.shape(), b.shape())) {
            return new DiffReport.Difference(DiffReport.Kind.LOOP, v, Math.min(a.start(), b.start()),
                    "the loops differ: " + sa + " repeats " + a.shape() + ", " + sb + " repeats " + b.shape(),
                    context(ea, a.start()), context(eb, b.start()));
        }
        return null;
    }

    /** The same cycle entered at a different phase. */
    static boolean rotationEqual(List<String> x, List<String> y) {
        if (x.size() != y.size()) {
            return false;
        }
        for (int r = 0; r < x.size(); r++) {
            boolean ok = true;
            for (int i = 0; i < x.size() && ok; i++) {
                ok = x.get((i + r) % x.size()).equals(y.get(i));
            }
            if (ok) {
                return true;
            }
        }
        return false;
    }

    private static List<DiffReport.Line> context(List<ApfEvent> ev, int at) {
        List<DiffReport.Line> out = new ArrayList<>();
        for (int i = Math.max(0, at - CONTEXT); i <= Math.min(ev.size() - 1, at + CONTEXT); i++) {
            out.add(new DiffReport.Line(i, ev.get(i).key(), i == at));
        }
        return out;
    }
}
