package dev.apfsim.report;

import dev.apfsim.sim.Machine;
import dev.apfsim.trace.StreamingSink;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceFilter;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams a run as a Perfetto protobuf trace ({@code .perfetto-trace}, {@code .pftrace}): the same tracks,
 * slices, instants, flows and counters as {@link PerfettoWriter}'s JSON ({@link Timeline}), encoded by
 * {@link ProtoTimeline}, several times smaller, and read by ui.perfetto.dev and {@code trace_processor} directly.
 * The file is a sequence of whole packets at every moment, so a run stopped by Ctrl-C (the CLI's shutdown hook
 * closes the writer) leaves a valid trace.
 */
public final class PerfettoProtoWriter extends StreamingSink {
    private final Timeline timeline;
    private final ProtoTimeline encoder;

    /** Writes what {@code filter} keeps to {@code out}; {@code name} only names it in error messages. */
    public PerfettoProtoWriter(Object name, OutputStream out, PerfettoWriter.Meta meta, TraceFilter filter) {
        super("trace file", name, out);
        this.encoder = new ProtoTimeline(bytes());
        this.timeline = new Timeline(meta, filter, encoder);
    }

    /** A writer for {@code machine}'s run keeping what {@code filter} keeps; creates (or truncates) {@code path}. */
    public static PerfettoProtoWriter open(Path path, Machine machine, TraceFilter filter) throws IOException {
        return new PerfettoProtoWriter(path, Files.newOutputStream(path), PerfettoWriter.meta(machine), filter);
    }

    @Override
    public boolean wantsTimeline() {
        return true;
    }

    @Override
    protected void handle(TraceEvent e) throws IOException {
        timeline.handle(e);
    }

    @Override
    protected void finish() throws IOException {
        timeline.finish();
    }

    @Override
    protected void flushBuffers() throws IOException {
        encoder.flush();
    }
}
