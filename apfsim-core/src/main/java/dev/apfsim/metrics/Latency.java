package dev.apfsim.metrics;

import org.HdrHistogram.Histogram;

import java.util.LinkedHashMap;
import java.util.Map;

/** A latency distribution in nanoseconds (HdrHistogram, 3 significant digits, up to one simulated hour). */
public final class Latency {
    private final Histogram h = new Histogram(3_600_000_000_000L, 3);

    public void record(long ns) {
        h.recordValue(Math.max(0, Math.min(ns, h.getHighestTrackableValue())));
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

    public double mean() {
        return h.getTotalCount() == 0 ? 0 : h.getMean();
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
