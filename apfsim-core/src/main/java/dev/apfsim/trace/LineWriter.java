package dev.apfsim.trace;

import java.io.IOException;
import java.io.Writer;

/** A streaming sink that writes one text line per event (ftrace text, NDJSON): a cut file keeps whole lines. */
public abstract class LineWriter extends StreamingSink {
    private final StringBuilder line = new StringBuilder(200);
    private long lines;

    protected LineWriter(String what, Object name, Writer out) {
        super(what, name, out);
    }

    /** Appends the line for {@code e}, without the newline. */
    protected abstract void format(StringBuilder sb, TraceEvent e);

    @Override
    protected final void handle(TraceEvent e) throws IOException {
        line.setLength(0);
        format(line, e);
        line.append('\n');
        write(line);
        lines++;
    }

    @Override
    protected final void finish() {
        // nothing: every line is complete already
    }

    /** Lines written so far (all whole). */
    public final synchronized long lines() {
        return lines;
    }
}
