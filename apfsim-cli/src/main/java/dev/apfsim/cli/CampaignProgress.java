package dev.apfsim.cli;

import dev.apfsim.campaign.CampaignListener;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a campaign on stderr: rows done of the shard's total, rows per second, the time left and the
 * violations so far. On a terminal one line is redrawn (after the first second); elsewhere (a Slurm log, a
 * Kubernetes pod's log, a Spark driver's) a line is printed every half minute, so batch logs show it too.
 * Rates count only the rows computed in this run, not those kept from an earlier one.
 */
final class CampaignProgress implements CampaignListener, AutoCloseable {
    static final long DELAY_NS = 1_000_000_000L;
    static final long TERMINAL_EVERY_NS = 250_000_000L;
    static final long LOG_EVERY_NS = 30_000_000_000L;

    private final String task;
    private final boolean enabled;
    private final boolean terminal;
    private final PrintStream err;
    private final long start = System.nanoTime();
    private long firstDone = -1;
    private long lastPrint;
    private int drawn;

    private CampaignProgress(String task, boolean enabled, boolean terminal, PrintStream err) {
        this.task = task;
        this.enabled = enabled;
        this.terminal = terminal;
        this.err = err;
    }

    /** Progress of {@code task}; none at all when {@code quiet} (--json). */
    static CampaignProgress of(String task, boolean quiet) {
        return new CampaignProgress(task, !quiet, Progress.stderrIsTerminal(), System.err);
    }

    /** Progress of {@code task} to {@code err}, drawn as on a terminal or printed as in a log. */
    static CampaignProgress to(String task, boolean terminal, PrintStream err) {
        return new CampaignProgress(task, true, terminal, err);
    }

    @Override
    public synchronized void progress(long done, long total, long violations) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (firstDone < 0) {
            firstDone = done;
            lastPrint = now;
            return;
        }
        long every = terminal ? TERMINAL_EVERY_NS : LOG_EVERY_NS;
        if (now - start < DELAY_NS || now - lastPrint < every || done >= total) {
            return;
        }
        lastPrint = now;
        String line = line(done, total, violations, (now - start) / 1e9);
        if (terminal) {
            err.print("\r" + line + " ".repeat(Math.max(0, drawn - line.length())));
            drawn = line.length();
        } else {
            err.println(line);
        }
        err.flush();
    }

    /** The progress line: {@code sweep x [0/3]: 40/120 rows (33%), 31.5 rows/s, ETA 3s, 0 violations}. */
    String line(long done, long total, long violations, double seconds) {
        double rate = (done - Math.max(0, firstDone)) / Math.max(1e-9, seconds);
        String eta = rate > 0 ? duration((total - done) / rate) : "?";
        return String.format(Locale.ROOT, "%s: %,d/%,d rows (%d%%), %.1f rows/s, ETA %s, %,d violation%s", task, done,
                total, total == 0 ? 100 : (int) (100 * done / total), rate, eta, violations,
                violations == 1 ? "" : "s");
    }

    static String duration(double s) {
        long t = Math.round(s);
        if (t < 60) {
            return t + "s";
        } else if (t < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", t / 3600, (t % 3600) / 60);
    }

    @Override
    public synchronized void close() {
        if (enabled && terminal && drawn > 0) {
            err.print("\r" + " ".repeat(drawn) + "\r");
            err.flush();
        }
        drawn = 0;
    }
}
