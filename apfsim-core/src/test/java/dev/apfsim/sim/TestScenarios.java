package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.kvm.x86.KvmConfig;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.scenario.DeviceSpec;
import dev.apfsim.scenario.MemoryRegion;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.workload.TaskSpec;

import java.util.List;

/** Scenarios built in code for model tests (independent of the YAML loader). */
final class TestScenarios {
    private TestScenarios() {
    }

    static final long MS = 1_000_000;
    static final long US = 1_000;

    /** One vCPU, 64 MiB, the given pages remote (userfault) with the given latency, one scripted task. */
    static Scenario script(GuestConfig guest, KvmConfig kvm, long remoteLatency, List<MemoryRegion> regions,
                           List<FailureRule> failures, List<Action> steps) {
        return new Scenario("test", "", 1, 2_000 * MS, 1, 64L << 20, 64L << 20, kvm,
                new DeviceSpec(new LatencyDistribution.Constant(100 * US), 32),
                new DeviceSpec(new LatencyDistribution.Constant(remoteLatency), 64), regions, failures, guest,
                List.of(new TaskSpec.Scripted("t", 0, steps)), 1000);
    }

    static List<MemoryRegion> remote(long start, long size) {
        return List.of(new MemoryRegion(start, size, MemoryRegion.State.REMOTE));
    }
}
