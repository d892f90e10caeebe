package dev.apfsim.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/** One long per {@link Counter}; the map view keeps declaration order so output is stable. */
public final class Counters {
    private final long[] values = new long[Counter.values().length];

    public void inc(Counter c) {
        values[c.ordinal()]++;
    }

    public void add(Counter c, long n) {
        values[c.ordinal()] += n;
    }

    public long get(Counter c) {
        return values[c.ordinal()];
    }

    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Counter c : Counter.values()) {
            m.put(c.key(), values[c.ordinal()]);
        }
        return m;
    }
}
