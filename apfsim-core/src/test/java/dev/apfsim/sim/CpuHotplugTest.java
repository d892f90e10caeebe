package dev.apfsim.sim;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.guest.Task;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.apfsim.arch.x86.ApfMsr.MSR_KVM_ASYNC_PF_ACK;
import static dev.apfsim.arch.x86.ApfMsr.MSR_KVM_ASYNC_PF_EN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU hotplug as the Linux guest does it: {@code kvm_cpu_down_prepare} (IRQs off, {@code kvm_guest_cpu_offline}:
 * steal time, PV EOI and migration-control MSRs, {@code kvm_pv_disable_apf}, {@code apf_task_wake_all},
 * {@code kvmclock_disable}; IRQs restored) and later {@code kvm_cpu_online} → {@code kvm_guest_cpu_init} (INT, then
 * EN), each WRMSR its own exit; a page-ready that arrives meanwhile is handled as
 * {@code sysvec_kvm_asyncpf_interrupt} does with {@code async_pf_enabled} false (EOI only). Built-in
 * {@code hotplug-page-ready} times the offline 2 us before a completion.
 */
class CpuHotplugTest {
    private static final long AREA = 0x9000;

    private static SimRun run(String variant) {
        return SimRun.of(BuiltinScenarios.load("hotplug-page-ready",
                BuiltinScenarios.variants("hotplug-page-ready").get(variant)));
    }

    private static List<String> msrWrites(SimRun r) {
        return r.all(TraceEvent.Msr.class).stream().filter(TraceEvent.Msr::write)
                .map(m -> Integer.toHexString(m.msr()) + "=" + Long.toHexString(m.data())).toList();
    }

    @Test
    void kvmCpuDownPrepareThenKvmCpuOnlineWriteEachMsrAsItsOwnExit() {
        SimRun r = run("linux");
        List<String> w = msrWrites(r);
        int down = w.indexOf("4b564d03=0");
        assertTrue(down > 0, w.toString());
        // kvm_guest_cpu_offline, then kvm_guest_cpu_init: INT first, then EN at the same apf_reason
        assertEquals(List.of("4b564d03=0", "4b564d04=0", "4b564d08=0", "4b564d02=0", "4b564d01=0", "4b564d06=f3",
                Long.toHexString(MSR_KVM_ASYNC_PF_EN) + "=" + Long.toHexString(AREA | 0xd)),
                w.subList(down, down + 7), r.dump());
        // apf_task_wake_all between the EN=0 write and kvmclock_disable, waking the faulter
        int en0 = r.indexOf(e -> e instanceof TraceEvent.Msr m && m.msr() == MSR_KVM_ASYNC_PF_EN && m.data() == 0);
        int wakeAll = r.indexOf(en0, e -> e instanceof TraceEvent.GuestApfWakeAll);
        int clock = r.indexOf(en0, e -> e instanceof TraceEvent.Msr m && m.msr() == ApfMsr.MSR_KVM_SYSTEM_TIME_NEW);
        assertTrue(en0 < wakeAll && wakeAll < clock, r.dump());
        assertEquals(1, ((TraceEvent.GuestApfWakeAll) r.events.get(wakeAll)).woken(), r.dump());
    }

    @Test
    void sysvecKvmAsyncpfInterruptWithAsyncPfDisabledOnlyEoisAndTheTaskHangs() {
        SimRun r = run("linux");
        // the page-ready was injected inside the IRQs-off window, before EN=0 ...
        int down = r.indexOf(e -> e instanceof TraceEvent.Msr m && m.msr() == ApfMsr.MSR_KVM_STEAL_TIME);
        int en0 = r.indexOf(e -> e instanceof TraceEvent.Msr m && m.msr() == MSR_KVM_ASYNC_PF_EN && m.data() == 0);
        int irq = r.indexOf(down, e -> e instanceof TraceEvent.ApicAcceptIrq a && a.vector() == 0xf3);
        assertTrue(down < irq && irq < en0, r.dump());
        // ... and handled with async_pf_enabled false: no ACK ever again, the token stays in apf_reason
        assertEquals(-1, r.indexOf(irq, e -> e instanceof TraceEvent.Msr m && m.msr() == MSR_KVM_ASYNC_PF_ACK),
                r.dump());
        assertEquals(0x1000, r.machine.ram().read32(AREA + ApfMsr.OFFSET_TOKEN), r.dump());
        // after kvm_cpu_online no page-ready is dequeued (kvm_arch_can_dequeue_async_page_present: slot busy), not
        // even the wake-all the EN write queued, so the task that faults afterwards sleeps for good
        assertEquals(List.of(0xffffffffL, 0x1000L), r.readyTokens(), r.dump());
        assertEquals(Task.State.APF_SLEEP, r.task(1).state(), r.dump());
        assertTrue(r.all(TraceEvent.Violation.class).stream().anyMatch(v -> v.invariant().equals("liveness")),
                r.dump());
    }

    @Test
    void releasingTheSlotWhenDisabledFixesIt() {
        SimRun r = run("fixed");
        assertEquals(List.of(), r.all(TraceEvent.Violation.class), r.dump());
        assertEquals(Task.State.DONE, r.task(0).state(), r.dump());
        assertEquals(Task.State.DONE, r.task(1).state(), r.dump());
    }

    @Test
    void checkFindsTheHungTaskAndTheFixHolds() throws Exception {
        Scenario linux = BuiltinScenarios.load("hotplug-page-ready",
                BuiltinScenarios.variants("hotplug-page-ready").get("linux"));
        dev.apfsim.explore.Explorer.Report found = dev.apfsim.explore.Explorer.explore(linux,
                new dev.apfsim.explore.Explorer.Options(200, 1, 2, 50), n -> { });
        assertTrue(found.finding() != null, "no violation in " + found.runsDone() + " runs");
        // the hung task (liveness) or the stuck CPU (a halted vCPU with an undequeueable done list: its HLTs return
        // at once, an exit-storm, or hlt-busy-loop where exits are slow)
        assertTrue(List.of("liveness", "exit-storm", "hlt-busy-loop").contains(found.finding().violation().invariant().key()),
                found.finding().violation().toString());
        Scenario fixed = BuiltinScenarios.load("hotplug-page-ready",
                BuiltinScenarios.variants("hotplug-page-ready").get("fixed"));
        dev.apfsim.explore.Explorer.Report held = dev.apfsim.explore.Explorer.explore(fixed,
                new dev.apfsim.explore.Explorer.Options(300, 1, 2, 0), n -> { });
        // the hung task and the stuck CPU are gone; a page-ready between the guest's token clear and its ACK is the
        // kernel's own protocol (docs/findings.md, "a page-ready can be injected between the guest's token clear and
        // its ACK"), which the exact irq-boundary choice reaches on this scenario
        assertTrue(held.finding() == null || held.finding().violation().invariant().key()
                .equals("page-ready-while-pending"), () -> held.finding().violation() + "\n"
                + String.join("\n", held.finding().minimal().trace()));
    }

    @Test
    void cpuOfflineAndCpuOnlinePerturbationsRunTheSameCallbacks() {
        Scenario s = ScenarioLoader.load("p.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                duration: 10ms
                workload:
                  tasks:
                    - {type: script, name: t, steps: [compute: 5ms]}
                check:
                  perturbations: [{at: 1ms, kind: cpu-offline}, {at: 2ms, kind: cpu_offline},
                                  {at: 3ms, kind: cpu-online}]
                """);
        SimRun r = SimRun.of(s);
        List<String> w = msrWrites(r);
        // boot INT, EN; one kvm_cpu_down_prepare (the second offline is a no-op); kvm_cpu_online; each wake-all ACKed
        assertEquals(List.of("4b564d06=f3", "4b564d02=900d", "4b564d07=1", "4b564d03=0", "4b564d04=0",
                "4b564d08=0", "4b564d02=0", "4b564d01=0", "4b564d06=f3", "4b564d02=900d", "4b564d07=1"), w, r.dump());
    }
}
