package dev.apfsim.realkvm.uffd;

/**
 * How the userfaultfd server answers the faults on a remote region: the host-side page source of a
 * scenario, good or failing. Latencies are in nanoseconds of wall time from the fault message.
 */
public sealed interface Backing {
    /** After the latency, UFFDIO_COPY the page (its words hold their own guest-physical address). */
    record Copy(long latencyNs) implements Backing {
    }

    /** The first {@code wakes} faults at a page get UFFDIO_WAKE without a page; later ones a copy. */
    record WakeWithoutPage(long latencyNs, int wakes, long copyLatencyNs) implements Backing {
    }

    /** After the latency, UFFDIO_UNREGISTER the region: the retried fault fills a zero page. */
    record Unregister(long latencyNs) implements Backing {
    }

    /** After the latency, munmap the region: the retried access finds no mapping (EFAULT). */
    record Unmap(long latencyNs) implements Backing {
    }

    /** UFFD_FEATURE_SIGBUS: every fault fails at once, without a message to the server. */
    record Sigbus() implements Backing {
    }

    /** The fault is never answered (the run ends at its time limit). */
    record Never() implements Backing {
    }

    static String describe(Backing b) {
        return switch (b) {
            case Copy c -> "copy after " + ms(c.latencyNs());
            case WakeWithoutPage w -> w.wakes() + " wake(s) without a page after " + ms(w.latencyNs())
                    + ", then copy after " + ms(w.copyLatencyNs());
            case Unregister u -> "unregister after " + ms(u.latencyNs());
            case Unmap u -> "munmap after " + ms(u.latencyNs());
            case Sigbus s -> "SIGBUS on every fault";
            case Never n -> "never answered";
        };
    }

    private static String ms(long ns) {
        return (ns / 1_000_000.0) + " ms";
    }
}
