package dev.apfsim.metrics;

import org.HdrHistogram.Histogram;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A latency distribution in nanoseconds (HdrHistogram, 3 significant digits, up to one simulated hour). The
 * histogram grows with the largest value recorded rather than being made for an hour at once: the same buckets, but
 * a checked run, which may record a handful of values, no longer allocates and scans a third of a megabyte for each.
 */
public final class Latency {
    private static final long HIGHEST = 3_600_000_000_000L;
    private final Histogram h = new Histogram(3);
    /** The sum of what {@link Histogram#getMean} adds up, kept as values come: the mean without a scan. */
    private long medianSum;

    public void record(long ns) {
        long v = Math.max(0, Math.min(ns, HIGHEST));
        h.recordValue(v);
        medianSum += h.medianEquivalentValue(v);
    }

    public long count() {
        return h.getTotalCount();
    }

    public long percentile(double p) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p);
    }

    public long max() {
        return h.getTotalCount() == 0 ? 0 : h.getMaxValue();
    }

    /** HdrHistogram's mean (each value as the median of its bucket). */
    public double mean() {
        return h.getTotalCount() == 0 ? 0 : (double) medianSum / h.getTotalCount();
    }

    public Histogram histogram() {
        return h;
    }

    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", count());
        m.put("mean_ns", Math.round(mean()));
        m.put("p50_ns", percentile(50));
        m.put("p99_ns", percentile(99));
        m.put("p999_ns", percentile(99.9));
        m.put("max_ns", max());
        return m;
    }
}
