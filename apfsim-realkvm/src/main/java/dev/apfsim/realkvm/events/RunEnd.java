package dev.apfsim.realkvm.events;

import java.util.Locale;

/**
 * How a run ended, in the terms both sides can state: the guest finished its programs, {@code KVM_RUN}
 * failed with EFAULT (or another errno), the run was still going at its time limit, or something else a
 * conformance run should not see (a panic, an unexpected exception, a shutdown, a failed entry).
 */
public record RunEnd(Kind kind, String detail) {
    public enum Kind { FINISHED, EFAULT, STILL_RUNNING, RUN_ERROR, GUEST_PANIC, GUEST_EXCEPTION, SHUTDOWN, FAIL_ENTRY,
        INTERNAL_ERROR, UNKNOWN }

    public static RunEnd of(Kind k) {
        return new RunEnd(k, "");
    }

    /** The end a {@link #toString()} printed: {@code "efault"}, {@code "still running (vcpu 0 at ...)"}. */
    public static RunEnd parse(String text) {
        String t = text.strip();
        int paren = t.indexOf(" (");
        String label = paren < 0 ? t : t.substring(0, paren);
        String detail = paren < 0 || !t.endsWith(")") ? "" : t.substring(paren + 2, t.length() - 1);
        for (Kind k : Kind.values()) {
            if (of(k).label().equals(label)) {
                return new RunEnd(k, detail);
            }
        }
        throw new IllegalArgumentException("not a run end: " + text);
    }

    public String label() {
        return kind.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    @Override
    public String toString() {
        return detail.isEmpty() ? label() : label() + " (" + detail + ")";
    }
}
