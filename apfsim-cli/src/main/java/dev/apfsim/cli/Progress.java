package dev.apfsim.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.Console;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A progress bar on stderr (me.tongfei:progressbar) for work that takes a while: it appears only once the work has
 * run for {@link #DELAY_NS} of wall time, only when the terminal is interactive, and never with {@code --json} or
 * {@code --quiet}. A disabled one ({@link #off()}) ignores every update, so callers need no checks.
 */
final class Progress implements AutoCloseable {
    static final long DELAY_NS = 1_000_000_000L;

    private final String task;
    private final long max;
    private final String unit;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private ProgressBar bar;
    private boolean closed;

    private Progress(String task, long max, String unit, boolean enabled) {
        this.task = task;
        this.max = max;
        this.unit = unit;
        this.enabled = enabled;
    }

    /** A bar for {@code max} steps, shown when {@link #wanted} says so. */
    static Progress of(String task, long max, String unit, boolean wanted) {
        return new Progress(task, max, unit, wanted);
    }

    static Progress off() {
        return new Progress("", 1, "", false);
    }

    /** True when the output is for people and stderr is a terminal. */
    static boolean wanted(boolean json, boolean quiet) {
        return !json && !quiet && stderrIsTerminal();
    }

    /**
     * Linux: what file descriptor 2 points to ({@code /dev/pts/N}, {@code /dev/ttyN}), so {@code apfsim compare
     * X > table.txt} still shows progress. Elsewhere: {@link Console#isTerminal()} (stdin and stdout).
     */
    static boolean stderrIsTerminal() {
        Path fd2 = Path.of("/proc/self/fd/2");
        if (Files.exists(fd2, LinkOption.NOFOLLOW_LINKS)) {
            try {
                String target = Files.readSymbolicLink(fd2).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                // fall through
            }
        }
        Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** Seconds since this bar was made (shown or not). */
    double elapsedSeconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Progress is now {@code current} of the maximum; {@code extra} (may be null) is shown after the bar. */
    synchronized void update(long current, String extra) {
        if (!enabled || closed) {
            return;
        }
        if (bar == null) {
            if (System.nanoTime() - start < DELAY_NS || current >= max) {
                return;
            }
            ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(200).setMaxRenderedLength(100)
                    .setConsumer(new ConsoleProgressBarConsumer(System.err, 100));
            if (!unit.isEmpty()) {
                b.setUnit(unit, 1);
            }
            bar = b.build();
        }
        bar.stepTo(Math.min(current, max));
        if (extra != null) {
            bar.setExtraMessage(extra);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
