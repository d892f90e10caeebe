package dev.apfsim.trace;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams a run's events to a file as {@code trace-cmd report} lines ({@link FtraceFormat#line}), one per event,
 * with nothing else in the file (no header or comment lines: trace-cmd prints none either), so the output can be
 * diffed and grepped like a real host's trace.
 *
 * <p>Memory is bounded by the {@link BufferedWriter}'s buffer. The file only ever ends in a whole line once
 * {@link #flush()} or {@link #close()} returned: both take the same lock as {@link #accept}, so a shutdown hook
 * flushing from another thread (Ctrl-C) never cuts a line in two. Events that arrive after {@link #close()} are
 * dropped.
 *
 * <p>An I/O error is remembered and rethrown as a {@link WriteException} from {@link #accept} (once),
 * {@link #flush()} and {@link #close()}; writing stops at the first error.
 */
public final class FtraceWriter implements TraceSink {
    private final Path path;
    private final Writer out;
    private final StringBuilder line = new StringBuilder(160);
    private long lines;
    private boolean closed;
    private IOException failure;

    /** Creates (or truncates) {@code path}. */
    public FtraceWriter(Path path) throws IOException {
        this(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    /** Writes to {@code out} (buffered here if it is not a {@link BufferedWriter}); {@code path} is for messages. */
    public FtraceWriter(Path path, Writer out) {
        this.path = path;
        this.out = out instanceof BufferedWriter b ? b : new BufferedWriter(out, 1 << 16);
    }

    @Override
    public synchronized void accept(TraceEvent event) {
        if (closed || failure != null) {
            return;
        }
        line.setLength(0);
        FtraceFormat.appendLine(line, event);
        line.append('\n');
        try {
            out.append(line);
            lines++;
        } catch (IOException e) {
            failure = e;
            throw unchecked("writing", e);
        }
    }

    @Override
    public synchronized void flush() {
        if (closed) {
            return;
        }
        rethrow("writing");
        try {
            out.flush();
        } catch (IOException e) {
            failure = e;
            throw unchecked("writing", e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.close(); // flushes first
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
        }
        rethrow("closing");
    }

    /** Lines written so far (all whole). */
    public synchronized long lines() {
        return lines;
    }

    public Path path() {
        return path;
    }

    private void rethrow(String doing) {
        if (failure != null) {
            throw unchecked(doing, failure);
        }
    }

    private WriteException unchecked(String doing, IOException e) {
        String what = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new WriteException("error " + doing + " trace file " + path + ": " + what, e);
    }

    /** The trace file could not be written; the message names the file. */
    public static final class WriteException extends UncheckedIOException {
        WriteException(String message, IOException cause) {
            super(message, cause);
        }
    }
}
