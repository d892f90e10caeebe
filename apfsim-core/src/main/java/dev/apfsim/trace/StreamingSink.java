package dev.apfsim.trace;

import java.io.BufferedOutputStream;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * A trace sink that streams to a file as events arrive, as text (a {@link Writer}) or as bytes (an
 * {@link OutputStream}). {@link #accept}, {@link #flush()} and {@link #close()} share one lock, so a shutdown hook
 * closing the file from another thread (Ctrl-C) waits for the event being written and then writes the file's
 * proper ending; events arriving after {@code close()} are dropped.
 *
 * <p>An I/O error is remembered and rethrown as a {@link WriteException} from {@link #accept} (once),
 * {@link #flush()} and {@link #close()}; writing stops at the first error.
 */
public abstract class StreamingSink implements TraceSink {
    private final String what;
    private final Object path;
    private final Writer text;
    private final OutputStream bytes;
    private boolean closed;
    private IOException failure;
    private long written;

    protected StreamingSink(String what, Object path, Writer out) {
        this.what = what;
        this.path = path;
        this.text = out instanceof BufferedWriter b ? b : new BufferedWriter(out, 1 << 16);
        this.bytes = null;
    }

    protected StreamingSink(String what, Object path, OutputStream out) {
        this.what = what;
        this.path = path;
        this.text = null;
        this.bytes = out instanceof BufferedOutputStream b ? b : new BufferedOutputStream(out, 1 << 16);
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
            flushBuffers();
            if (text != null) {
                text.flush();
            } else {
                bytes.flush();
            }
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
                flushBuffers();
            }
        } catch (IOException e) {
            failure = e;
        }
        try {
            if (text != null) {
                text.close();
            } else {
                bytes.close();
            }
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

    /**
     * Bytes handed to the file so far (characters, for a text sink: the formats written are ASCII but for free
     * text), to estimate how large the file will grow.
     */
    public final synchronized long bytesWritten() {
        return written;
    }

    /** Writes whatever one event turns into; called under the lock. */
    protected abstract void handle(TraceEvent e) throws IOException;

    /** Writes the end of the file; called once, under the lock. */
    protected abstract void finish() throws IOException;

    /** Hands what a subclass buffers itself to the stream; called under the lock before flushing and closing. */
    protected void flushBuffers() throws IOException {
    }

    protected final void write(CharSequence s) throws IOException {
        int n = s.length();
        if (s instanceof StringBuilder sb) { // every writer formats into one: copy it out without a String
            if (chars.length < n) {
                chars = new char[Math.max(n, 2 * chars.length)];
            }
            sb.getChars(0, n, chars, 0);
            text.write(chars, 0, n);
        } else {
            text.append(s);
        }
        written += n;
    }

    private char[] chars = new char[512];

    /** The byte stream of a sink made with an {@link OutputStream}; whatever is written to it is counted. */
    protected final OutputStream bytes() {
        return counting;
    }

    private final OutputStream counting = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            bytes.write(b);
            written++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            bytes.write(b, off, len);
            written += len;
        }

        @Override
        public void flush() throws IOException {
            bytes.flush();
        }
    };

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
