package dev.apfsim.scenario;

import dev.apfsim.check.CheckSpec;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.workload.TaskSpec;

import java.util.List;

/**
 * Everything one run needs. Built from YAML by {@link ScenarioLoader}; {@code seed} plus this record name one
 * execution.
 *
 * @param memoryBytes      guest RAM
 * @param hostLimitBytes   host memory the guest may keep resident (reclaim evicts beyond it)
 * @param livelockRetries  consecutive async faults on one gfn without progress that count as a livelock
 * @param livenessBoundNs  a task asleep on an async PF longer than this breaks the liveness invariant
 * @param check            schedule seed, injected perturbations and what {@code apfsim check} may vary
 */
public record Scenario(String name, String description, long seed, long durationNs, int vcpus, long memoryBytes,
                       long hostLimitBytes, KvmConfig kvm, DeviceSpec swap, DeviceSpec remote,
                       List<MemoryRegion> regions, List<FailureRule> failures, GuestConfig guest,
                       List<TaskSpec> tasks, int livelockRetries, long livenessBoundNs, CheckSpec check) {

    public Scenario(String name, String description, long seed, long durationNs, int vcpus, long memoryBytes,
                    long hostLimitBytes, KvmConfig kvm, DeviceSpec swap, DeviceSpec remote,
                    List<MemoryRegion> regions, List<FailureRule> failures, GuestConfig guest,
                    List<TaskSpec> tasks, int livelockRetries, long livenessBoundNs) {
        this(name, description, seed, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote, regions,
                failures, guest, tasks, livelockRetries, livenessBoundNs, CheckSpec.NONE);
    }

    /** Default liveness bound: far above any realistic device latency in the built-in scenarios. */
    public static final long DEFAULT_LIVENESS_BOUND_NS = 10_000_000_000L;

    public Scenario(String name, String description, long seed, long durationNs, int vcpus, long memoryBytes,
                    long hostLimitBytes, KvmConfig kvm, DeviceSpec swap, DeviceSpec remote,
                    List<MemoryRegion> regions, List<FailureRule> failures, GuestConfig guest,
                    List<TaskSpec> tasks, int livelockRetries) {
        this(name, description, seed, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote, regions,
                failures, guest, tasks, livelockRetries, DEFAULT_LIVENESS_BOUND_NS);
    }

    public Scenario withSeed(long s) {
        return new Scenario(name, description, s, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote,
                regions, failures, guest, tasks, livelockRetries, livenessBoundNs, check);
    }

    public Scenario withDuration(long d) {
        return new Scenario(name, description, seed, d, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote,
                regions, failures, guest, tasks, livelockRetries, livenessBoundNs, check);
    }

    public Scenario withGuest(GuestConfig g) {
        return new Scenario(name, description, seed, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote,
                regions, failures, g, tasks, livelockRetries, livenessBoundNs, check);
    }

    public Scenario withTasks(List<TaskSpec> t) {
        return new Scenario(name, description, seed, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote,
                regions, failures, guest, t, livelockRetries, livenessBoundNs, check);
    }

    public Scenario withCheck(CheckSpec c) {
        return new Scenario(name, description, seed, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm, swap, remote,
                regions, failures, guest, tasks, livelockRetries, livenessBoundNs, c);
    }

    public Scenario withVcpus(int n) {
        return new Scenario(name, description, seed, durationNs, n, memoryBytes, hostLimitBytes, kvm, swap, remote,
                regions, failures, guest, tasks, livelockRetries, livenessBoundNs, check);
    }

    public Scenario withKvm(KvmConfig k) {
        return new Scenario(name, description, seed, durationNs, vcpus, memoryBytes, hostLimitBytes, k, swap, remote,
                regions, failures, guest, tasks, livelockRetries, livenessBoundNs, check);
    }
}
