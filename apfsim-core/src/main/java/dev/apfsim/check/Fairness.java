package dev.apfsim.check;

/**
 * Which cycles count as a livelock ({@code check.fairness}, {@code check --fairness}): a cycle in which some task
 * stays runnable and never runs is one no fair scheduler keeps to, so under {@link #WEAK} (the default, what CFS
 * gives: a runnable task runs eventually) it is not reported and the search goes on for one that is fair.
 */
public enum Fairness {
    /** Every cycle of the abstract state with no progress is a livelock, even one that starves a task. */
    NONE("none"),
    /** No task may stay runnable through the whole cycle without running in it. */
    WEAK("weak"),
    /** No task may be runnable at any point of the cycle without running in it. */
    STRONG("strong");

    private final String key;

    Fairness(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    /** Whether a cycle that is (or is not) weakly and strongly fair counts under this requirement. */
    public boolean admits(boolean weaklyFair, boolean stronglyFair) {
        return switch (this) {
            case NONE -> true;
            case WEAK -> weaklyFair;
            case STRONG -> stronglyFair;
        };
    }

    public static Fairness fromKey(String k) {
        for (Fairness f : values()) {
            if (f.key.equals(k)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown fairness " + k + " (expected none, weak or strong)");
    }
}
