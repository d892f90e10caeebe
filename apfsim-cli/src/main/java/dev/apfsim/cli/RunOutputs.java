package dev.apfsim.cli;

import dev.apfsim.report.HtmlReport;
import dev.apfsim.report.NdjsonWriter;
import dev.apfsim.report.PerfettoWriter;
import dev.apfsim.report.ReportData;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code run} writes besides its table: the trace ({@code --trace}, ftrace text or Perfetto JSON), the event
 * log ({@code --events}), the HTML report ({@code --report}), and the progress bar. Streaming writers are
 * registered with {@link TraceFiles}' shutdown hook, so Ctrl-C leaves them valid; the report is written when the
 * run ends.
 */
final class RunOutputs implements AutoCloseable {
    /** The {@code --trace} formats. */
    enum TraceFormat {
        FTRACE, PERFETTO;

        /** {@code .json} means Perfetto, anything else ftrace text, unless {@code --trace-format} says. */
        static TraceFormat of(Path file, TraceFormat forced) {
            if (forced != null) {
                return forced;
            }
            return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json") ? PERFETTO : FTRACE;
        }
    }


    private final Machine machine;
    private final List<TraceSink> sinks = new ArrayList<>();
    private final Path report;
    private final ReportData data;
    private final Progress progress;

    private RunOutputs(Machine machine, Path trace, TraceFormat format, Path events, Path report,
                       boolean showProgress) {
        this.machine = machine;
        this.report = report;
        try {
            if (trace != null) {
                add(switch (TraceFormat.of(trace, format)) {
                    case FTRACE -> RunCommand.openTrace(trace);
                    case PERFETTO -> open("trace file", trace, () -> PerfettoWriter.open(trace, machine));
                });
            }
            if (events != null) {
                add(open("event log", events, () -> new NdjsonWriter(events)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        // the bar follows the simulator's published clock by wall time; sampling stays the report's own
        this.progress = Progress.of("run " + machine.scenario().name(), Progress.PER_RUN, "%", showProgress);
        progress.trackRuns(new java.util.concurrent.atomic.AtomicReferenceArray<>(
                new dev.apfsim.engine.Simulator[]{machine.simulator()}),
                new long[]{machine.scenario().durationNs()}, new boolean[1]);
        data = report != null ? ReportData.attachTo(machine) : null;
    }

    /**
     * Opens the requested outputs for {@code machine} (before it runs); a file that cannot be created is a
     * {@link Main.UserException}.
     */
    static RunOutputs open(Machine machine, Path trace, TraceFormat format, Path events, Path report,
                           boolean showProgress) {
        if (format != null && trace == null) {
            throw new Main.UserException("--trace-format needs --trace FILE");
        }
        distinct("--trace", trace, "--events", events);
        distinct("--trace", trace, "--report", report);
        distinct("--events", events, "--report", report);
        if (report != null) {
            checkWritable("report", report);
        }
        return new RunOutputs(machine, trace, format, events, report, showProgress);
    }

    /** Runs the machine, then closes the streams and writes the report; write errors are {@code TraceIoException}s. */
    RunResult run() {
        RunResult r;
        try {
            r = machine.run();
            progress.close();
            for (TraceSink s : sinks) {
                s.close();
            }
        } catch (UncheckedIOException e) {
            throw new Main.TraceIoException(e);
        }
        if (report != null) {
            try {
                HtmlReport.write(report, List.of(new HtmlReport.Variant(r.scenario(), r, data)));
            } catch (IOException e) {
                throw new Main.TraceIoException(new UncheckedIOException("cannot write report " + report + ": "
                        + message(e), e));
            }
        }
        return r;
    }

    /** Unregisters and closes everything (errors were reported by {@link #run()}). */
    @Override
    public void close() {
        if (progress != null) {
            progress.close();
        }
        for (TraceSink s : sinks) {
            TraceFiles.unregister(s);
            try {
                s.close();
            } catch (UncheckedIOException ignored) {
                // reported by run()
            }
        }
    }

    private void add(TraceSink s) {
        if (s instanceof dev.apfsim.trace.LineWriter w) {
            w.orderBy(machine.simulator()::now); // text lines in simulated-time order (docs/events.md)
        }
        sinks.add(s);
        TraceFiles.register(s);
        machine.attach(s);
    }

    interface Opener<T> {
        T open() throws IOException;
    }

    /** Creates an output file, turning the usual failures into one-line user errors. */
    static <T> T open(String what, Path path, Opener<T> opener) {
        try {
            return opener.open();
        } catch (NoSuchFileException e) {
            throw new Main.UserException("cannot create " + what + " " + path + ": no such directory");
        } catch (AccessDeniedException e) {
            throw new Main.UserException("cannot create " + what + " " + path + ": permission denied");
        } catch (IOException e) {
            throw new Main.UserException("cannot create " + what + " " + path + ": " + message(e));
        }
    }

    /** Two outputs in one file would overwrite each other: refused before anything is written. */
    static void distinct(String optionA, Path a, String optionB, Path b) {
        if (a != null && b != null && a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) {
            throw new Main.UserException(optionA + " and " + optionB + " name the same file " + a
                    + ": each output needs its own");
        }
    }

    /** Fails now, not after a long run, when {@code path} cannot be created. */
    static void checkWritable(String what, Path path) {
        Path dir = path.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new Main.UserException("cannot create " + what + " " + path + ": no such directory");
        }
        if (!Files.isWritable(dir) || (Files.exists(path) && !Files.isWritable(path))) {
            throw new Main.UserException("cannot create " + what + " " + path + ": permission denied");
        }
        if (Files.isDirectory(path)) {
            throw new Main.UserException("cannot create " + what + " " + path + ": is a directory");
        }
    }

    private static String message(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
