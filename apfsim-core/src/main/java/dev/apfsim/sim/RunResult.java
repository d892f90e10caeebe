package dev.apfsim.sim;

import java.util.List;
import java.util.Map;

/**
 * Everything a run reports; serialised as the documented JSON schema (docs/json.md) with snake_case keys.
 * Field order here is the order in the JSON.
 */
public record RunResult(
        int schemaVersion,
        String scenario,
        long seed,
        String apf,
        long simulatedNs,
        long events,
        long traceEvents,
        long wallNs,
        double eventsPerWallSecond,
        OutcomeView outcome,
        Map<String, Long> counters,
        Map<String, Map<String, Object>> latencies,
        List<TaskResult> tasks,
        List<VcpuResult> vcpus,
        MemoryResult memory,
        long workerBusyNs,
        FailureResult failure,
        List<String> violations,
        String fingerprint) {

    public static final int SCHEMA_VERSION = 1;

    /** The outcome flattened for JSON: {@code kind} plus the fields of that kind. */
    public record OutcomeView(String kind, String message, Long timeNs, Integer vcpu, Long gfn, Integer errno,
                              Long retries, Double cyclesPerSecond, Long firstToken, Long lastToken) {
    }

    public record TaskResult(int id, String name, int cpu, String state, long ops, double opsPerSecond,
                             long userNs, long kernelNs, long apfWaits, Long killedAtNs) {
    }

    public record VcpuResult(int id, Map<String, Long> timeNs) {
    }

    /**
     * Seed 004: how a failing backing page played out. {@code detectedNs} is when the failure became visible
     * (VM stopped, task killed, or livelock recognised; null if it never did), {@code wastedVcpuNs} the vCPU
     * time of the futile fault/page-ready cycles, estimated from the cost parameters, {@code wastedWorkerNs}
     * the worker time spent on failed GUPs.
     */
    public record FailureResult(long firstErrorNs, Long detectedNs, Long timeToDetectionNs, String visibleAs,
                                long errorCycles, double errorCyclesPerSecond, long wastedVcpuNs,
                                long wastedWorkerNs) {
    }

    public record MemoryResult(long residentPages, long evictions, long minorFaults, long swapReads,
                               long remoteReads, long failedGups) {
    }

    /** Sum of ops of the tasks whose name starts with {@code prefix}. */
    public long opsOf(String prefix) {
        long n = 0;
        for (TaskResult t : tasks) {
            if (t.name().startsWith(prefix)) {
                n += t.ops();
            }
        }
        return n;
    }

    public long counter(String key) {
        Long v = counters.get(key);
        return v == null ? 0 : v;
    }
}
