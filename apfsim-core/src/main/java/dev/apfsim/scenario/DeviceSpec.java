package dev.apfsim.scenario;

import dev.apfsim.memory.LatencyDistribution;

/** A backing device: latency per 4 KiB read and how many reads it serves at once. */
public record DeviceSpec(LatencyDistribution latency, int queueDepth) {
}
