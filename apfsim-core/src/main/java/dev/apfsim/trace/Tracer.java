package dev.apfsim.trace;

import java.util.ArrayList;
import java.util.List;

/** Fans each event out to the fingerprint and to every attached sink, in attachment order. */
public final class Tracer {
    private final Fingerprint fingerprint = new Fingerprint();
    private final List<TraceSink> sinks = new ArrayList<>();
    private TraceSink[] array = new TraceSink[0];
    private long count;

    public void attach(TraceSink sink) {
        sinks.add(sink);
        array = sinks.toArray(TraceSink[]::new);
    }

    public void emit(TraceEvent e) {
        count++;
        fingerprint.accept(e);
        for (TraceSink s : array) {
            s.accept(e);
        }
    }

    public long count() {
        return count;
    }

    public String fingerprint() {
        return fingerprint.hex();
    }

    public void flush() {
        for (TraceSink s : array) {
            s.flush();
        }
    }

    public void close() {
        for (TraceSink s : array) {
            s.close();
        }
    }
}
