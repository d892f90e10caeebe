package dev.apfsim.cli;

import dev.apfsim.engine.Simulator;
import dev.apfsim.report.HtmlReport;
import dev.apfsim.report.ReportData;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What {@code compare} writes besides its table: the HTML report of all variants ({@code --report}) and a progress
 * bar over the variants running in parallel (each counts the share of its simulated time done, polled by wall time).
 */
final class CompareOutputs implements AutoCloseable {
    private final Path report;
    private final ReportData[] data;
    private final AtomicReferenceArray<Simulator> running;
    private final long[] durations;
    private final boolean[] done;
    private final Progress progress;

    private CompareOutputs(Path report, int variants, boolean showProgress) {
        this.report = report;
        this.data = new ReportData[variants];
        this.running = new AtomicReferenceArray<>(variants);
        this.durations = new long[variants];
        this.done = new boolean[variants];
        this.progress = Progress.of("compare", Progress.PER_RUN * variants, "%", showProgress);
    }

    static CompareOutputs open(Path report, int variants, boolean showProgress) {
        if (report != null) {
            RunOutputs.checkWritable("report", report);
        }
        return new CompareOutputs(report, variants, showProgress);
    }

    /** No report, no progress: runs are just run. */
    static CompareOutputs none() {
        return new CompareOutputs(null, 0, false);
    }

    /** Runs variant {@code index} (any thread), gathering report data and driving the progress bar. */
    RunResult run(int index, Scenario s) {
        Machine m = new Machine(s);
        if (index >= data.length) {
            return m.run();
        }
        if (report != null) {
            data[index] = ReportData.attachTo(m);
        }
        durations[index] = s.durationNs();
        running.set(index, m.simulator()); // published after the duration: the poller reads both
        progress.trackRuns(running, durations, done);
        RunResult r = m.run();
        done[index] = true;
        return r;
    }

    /** Writes the report (when asked for) of the variants in order. */
    void writeReport(List<String> labels, List<RunResult> results) {
        progress.close();
        if (report == null) {
            return;
        }
        List<HtmlReport.Variant> variants = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            variants.add(new HtmlReport.Variant(labels.get(i), results.get(i), i < data.length ? data[i] : null));
        }
        try {
            HtmlReport.write(report, variants);
        } catch (IOException e) {
            throw new Main.TraceIoException(new UncheckedIOException("cannot write report " + report + ": "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e));
        }
    }

    @Override
    public void close() {
        progress.close();
    }
}
