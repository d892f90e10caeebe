package dev.apfsim.explore;

/** How {@code check} chooses the runs it explores (docs/invariants.md, "Strategies"). */
public enum Strategy {
    /** Random decisions at every choice point, plus per-run swarm cost levels within ×[1/10, 10]. */
    RANDOM("random"),
    /** Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010) over the guest tasks, depth d. */
    PCT("pct"),
    /** Breadth-first over choice sequences up to a bound of deviations, merging equal abstract states. */
    EXHAUSTIVE("exhaustive"),
    /**
     * The default: on a small scenario a bounded exhaustive search first (bound 1, at most 8 runs), then random and
     * PCT runs interleaved by run index.
     */
    PORTFOLIO("portfolio");

    private final String key;

    Strategy(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static Strategy fromKey(String k) {
        for (Strategy s : values()) {
            if (s.key.equals(k)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown strategy " + k + " (random, pct, exhaustive, portfolio)");
    }
}
