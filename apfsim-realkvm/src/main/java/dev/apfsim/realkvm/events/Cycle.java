package dev.apfsim.realkvm.events;

import java.util.List;

/**
 * An endless loop at the end of a sequence: from {@code start} to {@code end} (after which a cut-off partial
 * cycle may follow), the events repeat with period
 * {@code period} (compared by {@link ApfEvent#shape()}, so climbing tokens do not hide the loop), at least
 * {@link #MIN_REPEATS} times. {@code cyclesPerSecond} comes from the events' timestamps (0 if they have none).
 */
public record Cycle(int start, int end, int period, double cycles, double cyclesPerSecond, List<String> shape) {
    public static final int MIN_REPEATS = 3;
    static final int MAX_PERIOD = 64;

    /**
     * The shortest loop the sequence ends in, or null. A run stopped at its time limit may end inside a cycle
     * whose last events differ from the loop's (the watchdog came between the not-present and the #PF
     * injection): up to one period of such a tail is left out.
     */
    public static Cycle detect(List<ApfEvent> ev) {
        for (int p = 1; p <= Math.min(MAX_PERIOD, ev.size() / MIN_REPEATS); p++) {
            for (int trim = 0; trim < p; trim++) {
                Cycle c = detect(ev, ev.size() - trim, p);
                if (c != null) {
                    return c;
                }
            }
        }
        return null;
    }

    private static Cycle detect(List<ApfEvent> ev, int n, int p) {
        int run = 0;
        for (int i = n - 1; i >= p && ev.get(i).shape().equals(ev.get(i - p).shape()); i--) {
            run++;
        }
        if (run < (MIN_REPEATS - 1) * p) {
            return null;
        }
        int start = n - run - p;
        double cycles = (double) (n - start) / p;
        long span = ev.get(n - 1).timeNs() - ev.get(start).timeNs();
        double rate = span > 0 ? (double) (n - 1 - start) / p / (span / 1e9) : 0;
        List<String> shape = ev.subList(start, start + p).stream().map(ApfEvent::shape).toList();
        return new Cycle(start, n, p, cycles, rate, shape);
    }
}
