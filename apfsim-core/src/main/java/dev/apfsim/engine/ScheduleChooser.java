package dev.apfsim.engine;

/**
 * The choice point where events due at the same simulated time are ordered. The default keeps insertion
 * order (FIFO); the schedule explorer substitutes a seeded chooser to try other interleavings.
 */
@FunctionalInterface
public interface ScheduleChooser {
    /** Picks which of {@code n > 1} simultaneous events runs first: an index in [0, n). */
    int choose(int n);

    ScheduleChooser FIFO = n -> 0;

    default boolean isFifo() {
        return this == FIFO;
    }
}
