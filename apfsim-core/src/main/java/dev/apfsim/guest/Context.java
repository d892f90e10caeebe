package dev.apfsim.guest;

/** Something a guest CPU executes actions from: a task, or a kernel handler frame on top of one. */
abstract sealed class Context permits Task, Frame {
    /** The action being executed (retried after a fault); null means fetch the next one. */
    Action current;
    /** Compute left of the current action; -1 until it starts. */
    long remaining = -1;

    abstract Action fetch();

    Action action() {
        if (current == null) {
            current = fetch();
            remaining = -1;
        }
        return current;
    }

    void advance() {
        current = null;
        remaining = -1;
    }
}
