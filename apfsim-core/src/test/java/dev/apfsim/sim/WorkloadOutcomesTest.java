package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.kvm.x86.X86Policy;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.scenario.DeviceSpec;
import dev.apfsim.scenario.MemoryRegion;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.workload.Pattern;
import dev.apfsim.workload.TaskSpec;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static dev.apfsim.sim.TestScenarios.MS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-run outcomes that the former experiment printouts showed: what async PF buys a CPU-bound task next to
 * a memory-bound one (the 2010 forum / Gavin Shan's arm64 measurement in seed thread 002), and what each seed-004
 * error policy does with permanently failing backing memory (seed 004, June 2020; docs/real-host.md).
 */
class WorkloadOutcomesTest {
    static Scenario forum(boolean withCpuBound) {
        var cpu = new TaskSpec.Statistical("cpu-bound", 0, 1, new LatencyDistribution.Constant(100_000), 1,
                0, 4L << 20, new Pattern.Uniform(), 0, 0, 0, 0);
        var mem = new TaskSpec.Statistical("mem-bound", 0, 1, new LatencyDistribution.Exponential(20_000), 1,
                64L << 20, 512L << 20, new Pattern.HotCold(0.25, 0.95), 0.5, 0, 0, 0);
        return new Scenario("forum", "", 1, 10_000 * MS, 1, 1L << 30, 256L << 20, KvmConfig.defaults(),
                new DeviceSpec(new LatencyDistribution.LogNormal(6_000_000, 10_000_000), 32),
                new DeviceSpec(new LatencyDistribution.Constant(1_000_000), 64),
                List.of(new MemoryRegion(64L << 20, 512L << 20, MemoryRegion.State.SWAPPED)), List.of(),
                GuestConfig.defaults(), withCpuBound ? List.of(cpu, mem) : List.of(mem), 1000);
    }

    @Test
    void asyncPfLetsTheCpuBoundTaskRunWhileTheMemoryBoundOneWaits() {
        Map<ApfSwitch, RunResult> both = new EnumMap<>(ApfSwitch.class);
        Map<ApfSwitch, RunResult> memOnly = new EnumMap<>(ApfSwitch.class);
        for (ApfSwitch a : ApfSwitch.values()) {
            both.put(a, new Machine(a.apply(forum(true))).run());
            memOnly.put(a, new Machine(a.apply(forum(false))).run());
        }
        long on = both.get(ApfSwitch.ON).opsOf("cpu");
        long off = both.get(ApfSwitch.OFF).opsOf("cpu");
        long sync = both.get(ApfSwitch.SYNC).opsOf("cpu");
        assertTrue(on > 1.5 * sync, "PV async PF: the guest schedules the CPU-bound task (" + on + " vs " + sync + ")");
        assertTrue(on > 1.5 * off, "the synthetic halt stops the whole vCPU (" + on + " vs " + off + ")");
        assertTrue(off >= sync, "the halt path still lets interrupts in (" + off + " vs " + sync + ")");
        assertEquals(0, both.get(ApfSwitch.SYNC).counter("async_pf_started"));
        assertEquals(0, both.get(ApfSwitch.OFF).counter("not_present_injected"));
        assertTrue(both.get(ApfSwitch.ON).counter("not_present_injected") > 100);
        // with only the memory-bound task there is nothing to run meanwhile: no gain (40.3 s vs 40.8 s in the arm64 RFC's figures)
        long memOn = memOnly.get(ApfSwitch.ON).opsOf("mem");
        long memSync = memOnly.get(ApfSwitch.SYNC).opsOf("mem");
        assertTrue(Math.abs(memOn - memSync) < 0.05 * memSync, memOn + " vs " + memSync);
    }

    static SimRun failing(X86Policy.ErrorPolicy p, boolean irqOff) {
        List<Action> steps = irqOff ? List.of(Action.CLI, new Action.Touch(0x300000, false), Action.STI)
                : List.of(new Action.Touch(0x300000, false));
        return SimRun.of(TestScenarios.builder().kvm(TestScenarios.withErrorPolicy(KvmConfig.defaults(), p))
                .remote(0x300000, 0x1000).remoteLatency(MS).livelockRetries(200)
                .failure(FailureRule.Kind.SIGBUS, 0x300, 1, 0, Long.MAX_VALUE)
                .task("t", 0, steps.toArray(Action[]::new)).build());
    }

    @Test
    void errorPoliciesOnSigbusBacking() {
        for (X86Policy.ErrorPolicy p : X86Policy.ErrorPolicy.values()) {
            // IF=0: the fault is synchronous under every policy, and KVM_RUN fails with EFAULT at once
            SimRun off = failing(p, true);
            assertEquals("vm_stopped", off.outcome(), p + " irq off");
            assertEquals(14, off.result.outcome().errno());
            assertTrue(off.all(TraceEvent.NotPresent.class).isEmpty());

            SimRun on = failing(p, false);
            String why = on.all(TraceEvent.UserspaceExit.class).stream().map(TraceEvent.UserspaceExit::why)
                    .findFirst().orElse("");
            switch (p) {
                case IGNORE -> { // 6.12: the endless retry loop
                    assertEquals("livelock_suspected", on.outcome());
                    assertTrue(on.all(TraceEvent.NotPresent.class).size() >= 200);
                }
                case ERROR_GFN, ERROR_GFN_HASH -> { // the failed gfn's retry is forced synchronous: -EFAULT
                    assertEquals("vm_stopped", on.outcome(), p.toString());
                    assertEquals("efault", why);
                    assertEquals(1, on.all(TraceEvent.NotPresent.class).size(), "one async round only");
                    // the prefault of the failed item (kvm_arch_async_page_ready), then the forced synchronous retry
                    assertEquals(List.of("sync_faults_prefetch", "sync_faults_error_gfn"),
                            on.all(TraceEvent.SyncFault.class).stream().map(TraceEvent.SyncFault::reason).toList());
                }
                case EFAULT_REQUEST -> { // the request exits before the next entry
                    assertEquals("vm_stopped", on.outcome());
                    assertEquals("efault-request", why);
                    assertEquals(14, on.result.outcome().errno());
                    assertEquals(1, on.all(TraceEvent.NotPresent.class).size());
                }
                case INJECT_ERROR -> { // the guest learns of the error and kills the faulting task
                    assertEquals("ok", on.outcome());
                    TraceEvent.GuestTaskKilled k = on.first(TraceEvent.GuestTaskKilled.class);
                    assertEquals("SIGBUS", k.signal());
                    assertEquals(0x300000, k.address());
                    assertEquals(1, on.counter("apf_errors_injected"));
                }
            }
        }
    }
}
