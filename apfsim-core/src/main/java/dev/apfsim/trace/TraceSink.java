package dev.apfsim.trace;

/** Consumer of a run's events (writers, the fingerprint, invariant checkers). */
public interface TraceSink extends AutoCloseable {
    void accept(TraceEvent event);

    /** Flushes what was written so far; called at the end of a run and on interruption. */
    default void flush() {
    }

    @Override
    default void close() {
        flush();
    }
}
