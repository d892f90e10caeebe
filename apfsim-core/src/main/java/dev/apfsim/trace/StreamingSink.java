package dev.apfsim.trace;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * A trace sink that streams text to a file as events arrive. {@link #accept}, {@link #flush()} and
 * {@link #close()} share one lock, so a shutdown hook closing the file from another thread (Ctrl-C) waits for the
 * event being written and then writes the file's proper ending; events arriving after {@code close()} are dropped.
 *
 * <p>An I/O error is remembered and rethrown as a {@link WriteException} from {@link #accept} (once),
 * {@link #flush()} and {@link #close()}; writing stops at the first error.
 */
public abstract class StreamingSink implements TraceSink {
    private final String what;
    private final Object path;
    private final Writer out;
    private boolean closed;
    private IOException failure;

    protected StreamingSink(String what, Object path, Writer out) {
        this.what = what;
        this.path = path;
        this.out = out instanceof BufferedWriter b ? b : new BufferedWriter(out, 1 << 16);
    }

    @Override
    public final synchronized void accept(TraceEvent event) {
        if (closed || failure != null) {
            return;
        }
        try {
            handle(event);
        } catch (IOException e) {
            failure = e;
            throw unchecked("writing", e);
        }
    }

    @Override
    public final synchronized void flush() {
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

    /** Writes the file's ending (when nothing failed before) and closes it; idempotent. */
    @Override
    public final synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (failure == null) {
                finish();
            }
        } catch (IOException e) {
            failure = e;
        }
        try {
            out.close();
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
        }
        rethrow("closing");
    }

    public final synchronized boolean isClosed() {
        return closed;
    }

    /** Writes whatever one event turns into; called under the lock. */
    protected abstract void handle(TraceEvent e) throws IOException;

    /** Writes the end of the file; called once, under the lock. */
    protected abstract void finish() throws IOException;

    protected final void write(CharSequence s) throws IOException {
        out.append(s);
    }

    private void rethrow(String doing) {
        if (failure != null) {
            throw unchecked(doing, failure);
        }
    }

    private WriteException unchecked(String doing, IOException e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new WriteException("error " + doing + " " + what + " " + path + ": " + msg, e);
    }

    /** The file could not be written; the message names it. */
    public static final class WriteException extends UncheckedIOException {
        WriteException(String message, IOException cause) {
            super(message, cause);
        }
    }
}
