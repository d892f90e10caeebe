package dev.apfsim.realkvm.events;

import java.util.List;

/**
 * An endless loop at the end of a sequence: from {@code start} on, the events repeat with period
 * {@code period} (compared by {@link ApfEvent#shape()}, so climbing tokens do not hide the loop), at least
 * {@link #MIN_REPEATS} times. {@code cyclesPerSecond} comes from the events' timestamps (0 if they have none).
 */
public record Cycle(int start, int period, double cycles, double cyclesPerSecond, List<String> shape) {
    public static final int MIN_REPEATS = 3;
    static final int MAX_PERIOD = 64;

    /** The shortest loop the sequence ends in, or null. */
    public static Cycle detect(List<ApfEvent> ev) {
        int n = ev.size();
        for (int p = 1; p <= Math.min(MAX_PERIOD, n / MIN_REPEATS); p++) {
            int run = 0;
            for (int i = n - 1; i >= p && ev.get(i).shape().equals(ev.get(i - p).shape()); i--) {
                run++;
            }
            if (run >= (MIN_REPEATS - 1) * p) {
                int start = n - run - p;
                double cycles = (double) (n - start) / p;
                long span = ev.get(n - 1).timeNs() - ev.get(start).timeNs();
                double rate = span > 0 ? (double) (n - 1 - start) / p / (span / 1e9) : 0;
                List<String> shape = ev.subList(start, start + p).stream().map(ApfEvent::shape).toList();
                return new Cycle(start, p, cycles, rate, shape);
            }
        }
        return null;
    }
}
