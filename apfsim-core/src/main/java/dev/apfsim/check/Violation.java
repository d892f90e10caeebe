package dev.apfsim.check;

/** One broken invariant: when, where and what. */
public record Violation(long timeNs, int vcpu, Invariant invariant, String detail) {
    @Override
    public String toString() {
        return String.format("%s at %d.%06d s on vCPU %d: %s", invariant.key(), timeNs / 1_000_000_000L,
                (timeNs / 1000) % 1_000_000, vcpu, detail);
    }
}
