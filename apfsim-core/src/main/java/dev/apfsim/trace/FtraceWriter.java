package dev.apfsim.trace;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams a run's events to a file as {@code trace-cmd report} lines ({@link FtraceFormat#line}), one per event,
 * with nothing else in the file (no header or comment lines: trace-cmd prints none either), so the output can be
 * diffed and grepped like a real host's trace. The file only ever ends in a whole line once {@link #flush()} or
 * {@link #close()} returned (see {@link StreamingSink} for locking and errors).
 */
public final class FtraceWriter extends LineWriter {
    private final Path path;

    /** Creates (or truncates) {@code path}. */
    public FtraceWriter(Path path) throws IOException {
        this(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    /** Writes to {@code out} (buffered here if it is not a {@link BufferedWriter}); {@code path} is for messages. */
    public FtraceWriter(Path path, Writer out) {
        super("trace file", path, out);
        this.path = path;
    }

    @Override
    protected void format(StringBuilder sb, TraceEvent event, int hostCpu) {
        FtraceFormat.appendLine(sb, event, hostCpu);
    }

    public Path path() {
        return path;
    }
}
