package dev.apfsim.trace;

/** Receives the model's {@link Probe}s at the moment they fire. */
@FunctionalInterface
public interface ProbeListener {
    void probe(Probe p);
}
