package dev.apfsim.cli;

import dev.apfsim.trace.StreamingSink;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Warns, once per file and in one line on stderr, when a Perfetto trace being written is on its way past what the
 * Perfetto UI opens in a browser, with the options that would shrink it. The final size is estimated from the
 * bytes written so far against the simulated time done (of the trace window, when there is one).
 */
final class TraceSizeWatch {
    /** About what ui.perfetto.dev loads in a browser tab (its trace processor runs in 4 GiB of WebAssembly memory). */
    static final long UI_LIMIT = 1L << 30;
    /** Estimates wait for this share of the traced time, so a start that differs from the rest does not mislead. */
    private static final double MIN_DONE = 0.02;

    private record Watched(Path path, StreamingSink sink, boolean protobuf) {
    }

    private final List<Watched> files = new ArrayList<>();
    private final List<Watched> warned = new ArrayList<>();
    private final long from;
    private final long to;
    private final PrintStream err;

    /** Watches the traced span {@code [from, to)}, cut to {@code durationNs}. */
    TraceSizeWatch(long from, long to, long durationNs, PrintStream err) {
        this.from = from;
        this.to = Math.min(to, durationNs);
        this.err = err;
    }

    void watch(Path path, StreamingSink sink, boolean protobuf) {
        files.add(new Watched(path, sink, protobuf));
    }

    boolean isEmpty() {
        return files.isEmpty();
    }

    /** Called with the simulated time reached (between slices of the run). */
    void check(long nowNs) {
        long span = to - from;
        long done = Math.min(nowNs, to) - from;
        if (span <= 0 || done <= 0 || done < MIN_DONE * span) {
            return;
        }
        for (Watched w : files) {
            if (warned.contains(w)) {
                continue;
            }
            long estimate = (long) (w.sink().bytesWritten() * ((double) span / done));
            if (estimate > UI_LIMIT) {
                warned.add(w);
                // on a terminal, over the progress bar's line (the bar redraws itself below)
                boolean overBar = err == System.err && Progress.stderrIsTerminal();
                err.println((overBar ? "\r\033[K" : "") + message(w.path(), estimate, w.protobuf()));
                err.flush();
            }
        }
    }

    static String message(Path path, long estimate, boolean protobuf) {
        String shrink = "--trace-window FROM..TO or --trace-filter vcpu=N task=GLOB"
                + (protobuf ? "" : ", or a .pftrace file (several times smaller)");
        return String.format(Locale.ROOT, "apfsim: warning: trace %s will be about %s, more than the Perfetto UI "
                + "opens (about %s); to shrink it use %s", path, size(estimate), size(UI_LIMIT), shrink);
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }
}
