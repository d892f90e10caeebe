package dev.apfsim.trace;

import java.util.ArrayList;
import java.util.List;

/**
 * Fans each event out to the fingerprint and to every attached sink, in attachment order. Timeline events go only
 * to the sinks that want them, so the canonical stream — and the fingerprint — never depends on which outputs a
 * user asked for.
 */
public final class Tracer {
    private final Fingerprint fingerprint = new Fingerprint();
    private final List<TraceSink> sinks = new ArrayList<>();
    private TraceSink[] array = new TraceSink[0];
    private TraceSink[] timelineSinks = new TraceSink[0];
    private long count;
    private ProbeListener[] probes = new ProbeListener[0];

    /** Adds an observer of the model's {@link Probe}s (the checker). */
    public void attachProbe(ProbeListener l) {
        ProbeListener[] a = java.util.Arrays.copyOf(probes, probes.length + 1);
        a[probes.length] = l;
        probes = a;
    }

    /** True when some observer wants probes; the model skips building them otherwise. */
    public boolean probing() {
        return probes.length > 0;
    }

    /** Delivers a probe to every observer now, before the model goes on. */
    public void probe(Probe p) {
        for (ProbeListener l : probes) {
            l.probe(p);
        }
    }

    public void attach(TraceSink sink) {
        sinks.add(sink);
        array = sinks.toArray(TraceSink[]::new);
        timelineSinks = sinks.stream().filter(TraceSink::wantsTimeline).toArray(TraceSink[]::new);
    }

    /** True when some sink wants timeline events; emitters skip building them otherwise. */
    public boolean timelineWanted() {
        return timelineSinks.length > 0;
    }

    public void emit(TraceEvent e) {
        if (e.timeline()) {
            for (TraceSink s : timelineSinks) {
                s.accept(e);
            }
            return;
        }
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
