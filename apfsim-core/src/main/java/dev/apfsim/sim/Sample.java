package dev.apfsim.sim;

import java.util.Map;

/**
 * A snapshot taken between two slices of a run (outside the event queue, so sampling never changes the run):
 * cumulative operations per task, counters and per-vCPU time split at {@code timeNs}.
 */
public record Sample(long timeNs, long[] taskOps, Map<String, Long> counters, Map<String, Long>[] vcpuTimeNs) {
}
