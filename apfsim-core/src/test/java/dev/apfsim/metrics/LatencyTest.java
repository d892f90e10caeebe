package dev.apfsim.metrics;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The running mean is HdrHistogram's own, and a histogram that grows with its values keeps the same buckets. */
class LatencyTest {
    @Property(tries = 200)
    void meanAndPercentilesAreThoseOfAnHourLongHistogram(
            @ForAll @Size(min = 1, max = 200) List<@LongRange(min = 0, max = 3_600_000_000_000L) Long> values) {
        Latency l = new Latency();
        org.HdrHistogram.Histogram hour = new org.HdrHistogram.Histogram(3_600_000_000_000L, 3);
        for (long v : values) {
            l.record(v);
            hour.recordValue(v);
        }
        assertEquals(hour.getMean(), l.mean(), Math.max(1e-6, hour.getMean() * 1e-12));
        assertEquals(hour.getValueAtPercentile(50), l.percentile(50));
        assertEquals(hour.getValueAtPercentile(99.9), l.percentile(99.9));
        assertEquals(hour.getMaxValue(), l.max());
        assertEquals(values.size(), l.count());
    }
}
