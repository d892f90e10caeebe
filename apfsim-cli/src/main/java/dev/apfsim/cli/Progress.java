package dev.apfsim.cli;

import dev.apfsim.engine.Simulator;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * A progress bar on stderr (me.tongfei:progressbar) for work that takes a while: it appears only once the work has
 * run for {@link #DELAY_NS} of wall time, only when the terminal is interactive, and never with {@code --json} or
 * {@code --quiet}. A disabled one ({@link #off()}) ignores every update, so callers need no checks.
 *
 * <p>Simulation runs are followed by wall time, not by the simulation's own steps: a poller redraws every
 * {@link #REDRAW_MS} ms from the simulators' published clock and event count ({@link #trackRuns}), so a run of 100
 * simulated years moves as visibly as one of 100 ms (the bar in millionths of the duration, the simulated time and
 * the event rate beside it).
 */
final class Progress implements AutoCloseable {
    static final long DELAY_NS = 1_000_000_000L;
    static final long REDRAW_MS = 200;
    /** A run's bar counts millionths of its simulated duration. */
    static final long PER_RUN = 1_000_000;

    private final String task;
    private final long max;
    private final String unit;
    private final boolean enabled;
    private final long delayNs;
    private final PrintStream stream;
    private final long start = System.nanoTime();
    private ProgressBar bar;
    private boolean closed;
    private Thread poller;

    private Progress(String task, long max, String unit, boolean enabled, long delayNs, PrintStream stream) {
        this.task = task;
        this.max = max;
        this.unit = unit;
        this.enabled = enabled;
        this.delayNs = delayNs;
        this.stream = stream;
    }

    /** A bar for {@code max} steps, shown when {@link #wanted} says so. A unit of {@code "%"} shows percent. */
    static Progress of(String task, long max, String unit, boolean wanted) {
        return new Progress(task, max, unit, wanted, DELAY_NS, System.err);
    }

    /** For tests: always enabled, shown after {@code delayNs}, drawn on {@code stream}. */
    static Progress forced(String task, long max, long delayNs, PrintStream stream) {
        return new Progress(task, max, "%", true, delayNs, stream);
    }

    static Progress off() {
        return new Progress("", 1, "", false, DELAY_NS, System.err);
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

    /** What a poll shows: the position of the bar and the text after it. */
    record Snapshot(long current, String extra) {
    }

    /** Redraws from {@code source} every {@link #REDRAW_MS} ms of wall time until {@link #close()}. */
    synchronized void poll(Supplier<Snapshot> source) {
        if (!enabled || closed || poller != null) {
            return;
        }
        poller = Thread.ofPlatform().daemon().name("apfsim-progress").start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Snapshot s = source.get();
                    update(s.current(), s.extra());
                    Thread.sleep(REDRAW_MS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /**
     * Follows {@code runs} simulations of {@code durationsNs} each (a slot is null until its run starts): the bar is
     * the sum of each run's share of its simulated duration, the text the simulated time (one run) or the runs done,
     * and the events per wall second of all of them.
     */
    void trackRuns(AtomicReferenceArray<Simulator> runs, long[] durationsNs, boolean[] done) {
        long t0 = System.nanoTime();
        poll(() -> {
            long current = 0;
            long events = 0;
            int finished = 0;
            long now = 0;
            for (int i = 0; i < runs.length(); i++) {
                Simulator s = runs.get(i);
                if (done[i]) {
                    finished++;
                }
                if (s == null) {
                    continue;
                }
                now = s.publishedNow();
                events += s.publishedEvents();
                current += done[i] ? PER_RUN : share(now, durationsNs[i]);
            }
            double rate = events / Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
            String extra = runs.length() == 1
                    ? simulatedText(now, durationsNs[0], rate)
                    : finished + "/" + runs.length() + " runs done, " + Fmt.si(rate) + "events/s";
            return new Snapshot(current, extra);
        });
    }

    /** {@code now} as millionths of {@code duration}. */
    static long share(long now, long duration) {
        return duration <= 0 ? PER_RUN : (long) Math.min(PER_RUN, (double) now / duration * PER_RUN);
    }

    /** "t=1.25 s of 100 y simulated, 1.85 Mevents/s". */
    static String simulatedText(long now, long duration, double eventsPerSecond) {
        return String.format(Locale.ROOT, "t=%s of %s simulated, %sevents/s", Fmt.span(now), Fmt.span(duration),
                Fmt.si(eventsPerSecond));
    }

    /** Progress is now {@code current} of the maximum; {@code extra} (may be null) is shown after the bar. */
    synchronized void update(long current, String extra) {
        if (!enabled || closed) {
            return;
        }
        if (bar == null) {
            if (System.nanoTime() - start < delayNs || current >= max) {
                return;
            }
            ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis((int) REDRAW_MS)
                    .setMaxRenderedLength(120).setConsumer(new ConsoleProgressBarConsumer(stream, 120));
            if (unit.equals("%")) {
                b.setUnit("%", max / 100); // simulation runs: shown as percent of the whole
            } else if (!unit.isEmpty()) {
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
    public void close() {
        Thread p;
        synchronized (this) {
            closed = true;
            p = poller;
            poller = null;
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
        if (p != null) {
            p.interrupt();
        }
    }
}
