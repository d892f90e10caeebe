package dev.apfsim.engine;

/** Receives the events it scheduled; {@code code} and {@code arg} say which and what, so no event object is allocated. */
@FunctionalInterface
public interface EventHandler {
    void onEvent(int code, long arg);
}
