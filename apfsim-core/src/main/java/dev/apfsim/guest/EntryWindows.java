package dev.apfsim.guest;

/**
 * Code every handler frame runs through on its way in and out that an injected exception must not hit: arm64's
 * vector stub, {@code kernel_entry} and {@code kernel_exit} (seed thread 002). x86 and s390 have none.
 */
public interface EntryWindows {
    /** Wraps a handler entered through the vector table; {@code fromCpl} is the interrupted level. */
    void addEntryAndExit(Frame f, Frame.Kind kind, int fromCpl);

    /** Adds only the exit path (a switched-in task returning to user). */
    void addExit(Frame f);

    /** ERET, or the frames were discarded: the CPU is outside the windows. */
    void leave();
}
