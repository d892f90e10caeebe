package dev.apfsim.cli;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.Units;
import dev.apfsim.sim.MemoryEstimate;

import java.util.Locale;

/**
 * Refuses, in one line and before anything is built, a run that cannot fit in the Java heap, with the heap to
 * ask for ({@code APFSIM_HEAP} for the launcher, {@code -Xmx} for {@code java}); and turns an
 * {@link OutOfMemoryError} that happens anyway into the same advice. {@code -Dapfsim.heapCheck=off} skips the
 * estimate (the error's advice still applies).
 */
final class HeapCheck {
    private HeapCheck() {
    }

    /** Fails with a {@link Main.UserException} when {@code runs} runs of {@code s} at once do not fit the heap. */
    static void require(Scenario s, int runs) {
        if ("off".equals(System.getProperty("apfsim.heapCheck"))) {
            return;
        }
        require(s, runs, Runtime.getRuntime().maxMemory());
    }

    /** The same for runs of several scenarios ({@code compare}, {@code sweep}): the largest decides. */
    static void require(java.util.List<Scenario> scenarios, int runs) {
        scenarios.stream().max(java.util.Comparator.comparingLong(x -> MemoryEstimate.of(x).bytes()))
                .ifPresent(s -> require(s, runs));
    }

    static void require(Scenario s, int runs, long maxHeap) {
        MemoryEstimate e = MemoryEstimate.of(s);
        long needed = e.forRuns(runs);
        if (needed <= maxHeap) {
            return;
        }
        String parallel = runs > 1 ? " for " + runs + " runs at once" : "";
        String fewer = runs > 1 && e.forRuns(1) <= maxHeap ? ", or fewer parallel runs (-j 1)" : "";
        throw new Main.UserException(String.format(Locale.ROOT,
                "%s needs about %s of Java heap%s (%s guest = %,d frames, %d vCPUs, %d tasks) but this JVM has %s: "
                        + "run it with %s%s", s.name(), mib(needed), parallel, Units.formatSize(s.memoryBytes()),
                e.frames(), e.vcpus(), e.tasks(), mib(maxHeap), advice(needed), fewer));
    }

    /** The one line printed for an {@link OutOfMemoryError}. */
    static String outOfMemory(long maxHeap) {
        return "out of memory: the Java heap (" + mib(maxHeap) + ") is too small for this run; run it with "
                + advice(2 * maxHeap);
    }

    /** True when {@code t} or one of its causes is an {@link OutOfMemoryError}. */
    static boolean isOutOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    private static String advice(long bytes) {
        String heap = MemoryEstimate.heapOption(bytes);
        return "APFSIM_HEAP=" + heap + " ./apfsim ... (or java -Xmx" + heap + " -jar apfsim.jar ...)";
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%,d MiB", (bytes + (1L << 20) - 1) >> 20);
    }
}
