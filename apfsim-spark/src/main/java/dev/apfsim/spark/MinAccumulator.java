package dev.apfsim.spark;

import org.apache.spark.util.AccumulatorV2;

/** The lowest value added on any executor, or -1 for none: the lowest violating run index. */
final class MinAccumulator extends AccumulatorV2<Long, Long> {
    private long min = -1;

    @Override
    public boolean isZero() {
        return min < 0;
    }

    @Override
    public AccumulatorV2<Long, Long> copy() {
        MinAccumulator m = new MinAccumulator();
        m.min = min;
        return m;
    }

    @Override
    public void reset() {
        min = -1;
    }

    @Override
    public void add(Long v) {
        if (v >= 0 && (min < 0 || v < min)) {
            min = v;
        }
    }

    @Override
    public void merge(AccumulatorV2<Long, Long> other) {
        add(other.value());
    }

    @Override
    public Long value() {
        return min;
    }
}
