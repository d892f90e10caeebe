package dev.apfsim.guest;

/** Told about guest outcomes that end or change a run. */
public interface GuestObserver {
    void guestPanic(long time, int cpu, String message);

    default void taskKilled(long time, Task task, String signal) {
    }
}
