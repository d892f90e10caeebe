package dev.apfsim.cli;

import dev.apfsim.report.HtmlReport;
import dev.apfsim.report.NdjsonWriter;
import dev.apfsim.report.PerfettoProtoWriter;
import dev.apfsim.report.PerfettoWriter;
import dev.apfsim.report.ReportData;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.sim.Sample;
import dev.apfsim.trace.TraceFilter;
import dev.apfsim.trace.TraceSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
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
        FTRACE, PERFETTO, PFTRACE;

        /**
         * {@code .json} means Perfetto JSON, {@code .pftrace} or {@code .perfetto-trace} Perfetto protobuf, anything
         * else ftrace text, unless {@code --trace-format} says.
         */
        static TraceFormat of(Path file, TraceFormat forced) {
            if (forced != null) {
                return forced;
            }
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".json")) {
                return PERFETTO;
            }
            return name.endsWith(".pftrace") || name.endsWith(".perfetto-trace") ? PFTRACE : FTRACE;
        }
    }


    private final Machine machine;
    private final List<TraceSink> sinks = new ArrayList<>();
    private final Path report;
    private final ReportData data;
    private final Progress progress;
    private final List<HtmlReport.Link> links = new ArrayList<>();

    private RunOutputs(Machine machine, Path trace, TraceFormat format, Path events, Path report,
                       TraceOptions traceOptions, boolean showProgress) {
        this.machine = machine;
        this.report = report;
        long duration = machine.scenario().durationNs();
        TraceFilter.Selection selection = traceOptions == null ? TraceFilter.Selection.ALL
                : traceOptions.selection(machine);
        TraceSizeWatch sizes = new TraceSizeWatch(selection.fromNs(), selection.toNs(), duration, System.err);
        try {
            if (trace != null) {
                TraceFormat f = TraceFormat.of(trace, format);
                TraceFilter filter = TraceOptions.filter(selection, machine);
                switch (f) {
                    case FTRACE -> add(filter.wrap(RunCommand.openTrace(trace)));
                    case PERFETTO -> sizes.watch(trace, add(open("trace file", trace,
                            () -> PerfettoWriter.open(trace, machine, filter))), false);
                    case PFTRACE -> sizes.watch(trace, add(open("trace file", trace,
                            () -> PerfettoProtoWriter.open(trace, machine, filter))), true);
                }
                links.add(new HtmlReport.Link(switch (f) {
                    case FTRACE -> "trace (ftrace text)";
                    case PERFETTO -> "Perfetto trace (JSON)";
                    case PFTRACE -> "Perfetto trace";
                }, trace));
            }
            if (events != null) {
                TraceFilter filter = TraceOptions.filter(selection, machine);
                add(filter.wrap(open("event log", events, () -> new NdjsonWriter(events))));
                links.add(new HtmlReport.Link("event log (NDJSON)", events));
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
        Consumer<Sample> onSample = sizes.isEmpty() ? null : s -> sizes.check(s.timeNs());
        if (report != null) {
            data = ReportData.attachTo(machine, onSample);
        } else {
            data = null;
            if (onSample != null) {
                machine.setSampler(onSample, ReportData.SLICES); // the machine's own slicing: same run
            }
        }
    }

    /**
     * Opens the requested outputs for {@code machine} (before it runs), the trace and the event log keeping what
     * {@code traceOptions} select (null: everything); a file that cannot be created is a {@link Main.UserException}.
     */
    static RunOutputs open(Machine machine, Path trace, TraceFormat format, Path events, Path report,
                           TraceOptions traceOptions, boolean showProgress) {
        if (format != null && trace == null) {
            throw new Main.UserException("--trace-format needs --trace FILE");
        }
        distinct("--trace", trace, "--events", events);
        distinct("--trace", trace, "--report", report);
        distinct("--events", events, "--report", report);
        if (traceOptions != null && traceOptions.any() && trace == null && events == null) {
            throw new Main.UserException("--trace-window and --trace-filter need --trace FILE or --events FILE");
        }
        if (report != null) {
            checkWritable("report", report);
        }
        return new RunOutputs(machine, trace, format, events, report, traceOptions, showProgress);
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
                HtmlReport.write(report, List.of(new HtmlReport.Variant(r.scenario(), r, data)), links);
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

    private <T extends TraceSink> T add(T s) {
        if (s instanceof dev.apfsim.trace.LineWriter w) {
            w.orderBy(machine.simulator()::now); // text lines in simulated-time order (docs/events.md)
        }
        sinks.add(s);
        TraceFiles.register(s);
        machine.attach(s);
        return s;
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
