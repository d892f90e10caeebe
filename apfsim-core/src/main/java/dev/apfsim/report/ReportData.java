package dev.apfsim.report;

import dev.apfsim.guest.Task;
import dev.apfsim.metrics.Latency;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.Sample;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceSink;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What the HTML report needs from a run, gathered while it runs with bounded memory: one row of aggregates per
 * sampling slice ({@link Sample}: cumulative ops per task, counters), the latency histograms, how often each event
 * occurred, and the first {@value #MAX_VIOLATIONS} violation events. Never the events themselves.
 *
 * <pre>{@code
 * ReportData data = ReportData.attachTo(machine);
 * RunResult r = machine.run();
 * HtmlReport.write(path, List.of(new HtmlReport.Variant("run", r, data)));
 * }</pre>
 */
public final class ReportData implements TraceSink, Consumer<Sample> {
    @Override
    public boolean wantsTimeline() {
        return true;
    }

    /**
     * Samples per run: the machine's own number of slices (1000). Sampling must not change it, because the
     * machine checks for a livelock between slices: with another count a livelocked run would end elsewhere.
     */
    public static final int SLICES = 1000;
    static final int MAX_VIOLATIONS = 200;

    /** One sampling point: simulated time, cumulative ops per task and counters. */
    record Slice(long timeNs, long[] ops, long[] counters) {
    }

    /** A violation event as it happened. */
    public record ViolationEvent(long timeNs, int vcpu, String invariant, String detail) {
    }

    private final String scenario;
    private final long seed;
    private final long durationNs;
    private final List<String> taskNames;
    private final Latency faultToReady;
    private final Latency taskWait;
    private final Latency syncFault;
    private final List<Slice> slices = new ArrayList<>();
    private List<String> counterKeys;
    private final Map<String, long[]> eventCounts = new LinkedHashMap<>();
    private final List<ViolationEvent> violations = new ArrayList<>();
    private long violationCount;

    /**
     * @param taskNames one name per task id; tasks named {@code name-N} form the group {@code name}
     * @param faultToReady async PF set-up to page ready; {@code taskWait}: guest task asleep on a token;
     *                     {@code syncFault}: vCPU blocked in a synchronous fault (all may be null)
     */
    public ReportData(String scenario, long seed, long durationNs, List<String> taskNames, Latency faultToReady,
                      Latency taskWait, Latency syncFault) {
        this.scenario = scenario;
        this.seed = seed;
        this.durationNs = durationNs;
        this.taskNames = List.copyOf(taskNames);
        this.faultToReady = faultToReady;
        this.taskWait = taskWait;
        this.syncFault = syncFault;
    }

    /** Attaches to {@code machine} (as a trace sink and as its sampler) before it runs. */
    public static ReportData attachTo(Machine machine) {
        return attachTo(machine, null);
    }

    /**
     * Attaches to {@code machine} as a trace sink and as its sampler ({@link #SLICES} samples per run), passing
     * every sample on to {@code next} (a progress bar, say) when it is not null. Replaces any sampler set before.
     */
    public static ReportData attachTo(Machine machine, Consumer<Sample> next) {
        List<String> names = new ArrayList<>();
        for (Task t : machine.guest().tasks()) {
            names.add(t.name);
        }
        var s = machine.scenario();
        var m = machine.metrics();
        ReportData d = new ReportData(s.name(), s.seed(), s.durationNs(), names, m.faultToReady, m.taskWait,
                m.syncFault);
        machine.attach(d);
        machine.setSampler(next == null ? d : d.andThen(next), SLICES);
        return d;
    }

    // ---- collecting ----------------------------------------------------------------------------------------

    @Override
    public synchronized void accept(Sample s) {
        if (counterKeys == null) {
            counterKeys = List.copyOf(s.counters().keySet());
        }
        long[] c = new long[counterKeys.size()];
        for (int i = 0; i < c.length; i++) {
            Long v = s.counters().get(counterKeys.get(i));
            c[i] = v == null ? 0 : v;
        }
        if (!slices.isEmpty() && slices.getLast().timeNs() >= s.timeNs()) {
            slices.removeLast(); // a repeated sample at the same time (end of run): keep the latest
        }
        slices.add(new Slice(s.timeNs(), s.taskOps().clone(), c));
    }

    @Override
    public synchronized void accept(TraceEvent e) {
        eventCounts.computeIfAbsent(e.name(), k -> new long[1])[0]++;
        if (e instanceof TraceEvent.Violation v) {
            violationCount++;
            if (violations.size() < MAX_VIOLATIONS) {
                violations.add(new ViolationEvent(v.time(), v.vcpu(), v.invariant(), v.detail()));
            }
        }
    }

    // ---- reading -------------------------------------------------------------------------------------------

    public String scenario() {
        return scenario;
    }

    public long seed() {
        return seed;
    }

    public long durationNs() {
        return durationNs;
    }

    public List<String> taskNames() {
        return taskNames;
    }

    public synchronized List<ViolationEvent> violations() {
        return List.copyOf(violations);
    }

    public synchronized long violationCount() {
        return violationCount;
    }

    /** How often each event name occurred, in order of first occurrence. */
    public synchronized Map<String, Long> eventCounts() {
        Map<String, Long> m = new LinkedHashMap<>();
        eventCounts.forEach((k, v) -> m.put(k, v[0]));
        return m;
    }

    public synchronized int sampleCount() {
        return slices.size();
    }

    /** A copy of a latency histogram ({@code fault_to_ready}, {@code task_wait}, {@code sync_fault}). */
    public Histogram histogram(String name) {
        Latency l = switch (name) {
            case "fault_to_ready" -> faultToReady;
            case "task_wait" -> taskWait;
            case "sync_fault" -> syncFault;
            default -> throw new IllegalArgumentException("no latency " + name);
        };
        if (l == null) {
            return new Histogram(3);
        }
        return l.histogram().copy();
    }

    /** Task name minus a {@code -N} suffix: the tasks one statistical task spec made. */
    public static String group(String task) {
        int dash = task.lastIndexOf('-');
        if (dash > 0 && dash < task.length() - 1) {
            for (int i = dash + 1; i < task.length(); i++) {
                if (!Character.isDigit(task.charAt(i))) {
                    return task;
                }
            }
            return task.substring(0, dash);
        }
        return task;
    }

    /** Task groups in task order. */
    public List<String> groups() {
        LinkedHashSet<String> g = new LinkedHashSet<>();
        for (String t : taskNames) {
            g.add(group(t));
        }
        return List.copyOf(g);
    }

    /** End time of each slice in seconds. */
    public synchronized double[] timesSeconds() {
        double[] t = new double[slices.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = slices.get(i).timeNs() / 1e9;
        }
        return t;
    }

    /** Per slice: how many times per simulated second the counters named (summed) went up. */
    public synchronized double[] rate(List<String> counters) {
        int[] idx = counterIndexes(counters);
        return perSecond(s -> {
            long sum = 0;
            for (int k : idx) {
                sum += s.counters()[k];
            }
            return sum;
        });
    }

    /** Per slice: the increase of a cumulative quantity divided by the slice's simulated length. */
    private double[] perSecond(java.util.function.ToLongFunction<Slice> cumulative) {
        double[] out = new double[slices.size()];
        long prevT = 0;
        long prev = 0;
        for (int i = 0; i < out.length; i++) {
            Slice s = slices.get(i);
            long sum = cumulative.applyAsLong(s);
            long dt = s.timeNs() - prevT;
            out[i] = dt > 0 ? (sum - prev) * 1e9 / dt : 0;
            prevT = s.timeNs();
            prev = sum;
        }
        return out;
    }

    /** Counter keys the samples carried (empty before the first sample). */
    public synchronized List<String> counterKeys() {
        return counterKeys == null ? List.of() : counterKeys;
    }

    /** Per slice: operations per simulated second of the tasks of {@code group}. */
    public synchronized double[] throughput(String group) {
        List<Integer> members = new ArrayList<>();
        for (int i = 0; i < taskNames.size(); i++) {
            if (group(taskNames.get(i)).equals(group)) {
                members.add(i);
            }
        }
        return perSecond(s -> {
            long sum = 0;
            for (int m : members) {
                if (m < s.ops().length) {
                    sum += s.ops()[m];
                }
            }
            return sum;
        });
    }

    /** Consecutive intervals of simulated time, each with one value (a rate over the interval). */
    public record Intervals(double[] startSeconds, double[] endSeconds, double[] values) {
        public int size() {
            return values.length;
        }

        /** The largest value. */
        public double max() {
            double m = 0;
            for (double v : values) {
                m = Math.max(m, v);
            }
            return m;
        }
    }

    /**
     * Per-slice rates ({@link #rate}, {@link #throughput}) merged into at most {@code maxBins} intervals of
     * about equal length, each holding the rate over the whole interval (not an average of rates).
     */
    public synchronized Intervals binned(double[] perSlice, int maxBins) {
        int n = Math.min(perSlice.length, slices.size());
        int bins = Math.min(n, Math.max(1, maxBins));
        double[] start = new double[bins];
        double[] end = new double[bins];
        double[] value = new double[bins];
        long prevT = 0;
        for (int b = 0; b < bins; b++) {
            long t0 = prevT;
            double count = 0;
            // slices spread evenly over the bins, so no bin is a short leftover
            for (int i = (int) ((long) b * n / bins); i < (int) ((long) (b + 1) * n / bins); i++) {
                long t = slices.get(i).timeNs();
                count += perSlice[i] * (t - prevT) / 1e9;
                prevT = t;
            }
            start[b] = t0 / 1e9;
            end[b] = prevT / 1e9;
            value[b] = prevT > t0 ? count * 1e9 / (prevT - t0) : 0;
        }
        return new Intervals(start, end, value);
    }

    private int[] counterIndexes(List<String> names) {
        if (counterKeys == null) {
            return new int[0];
        }
        List<Integer> idx = new ArrayList<>();
        for (String n : names) {
            int i = counterKeys.indexOf(n);
            if (i >= 0) {
                idx.add(i);
            }
        }
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Counter keys starting with {@code prefix}, e.g. every {@code sync_faults_*} reason. */
    public synchronized List<String> countersStartingWith(String prefix) {
        if (counterKeys == null) {
            return Collections.emptyList();
        }
        return counterKeys.stream().filter(k -> k.startsWith(prefix)).toList();
    }
}
