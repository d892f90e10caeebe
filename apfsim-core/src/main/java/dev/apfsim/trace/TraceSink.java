package dev.apfsim.trace;

/** Consumer of a run's events (writers, the fingerprint, invariant checkers). */
public interface TraceSink extends AutoCloseable {
    void accept(TraceEvent event);

    /**
     * Whether this sink wants timeline events ({@link TraceEvent#timeline()}: vCPU states, device I/O). They are
     * not part of the canonical stream (fingerprint, ftrace text) and cost nothing when no sink wants them.
     */
    default boolean wantsTimeline() {
        return false;
    }

    /** A sink that takes every event, timeline events included. */
    static TraceSink everything(java.util.function.Consumer<TraceEvent> consumer) {
        return new TraceSink() {
            public void accept(TraceEvent event) {
                consumer.accept(event);
            }

            public boolean wantsTimeline() {
                return true;
            }
        };
    }

    /** Flushes what was written so far; called at the end of a run and on interruption. */
    default void flush() {
    }

    @Override
    default void close() {
        flush();
    }
}
