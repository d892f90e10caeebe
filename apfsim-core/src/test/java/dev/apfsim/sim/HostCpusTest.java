package dev.apfsim.sim;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioException;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kvm_setup_async_pf} → {@code schedule_work}: the async PF work runs on a bound kworker of the per-CPU
 * {@code system_wq} pool of the host CPU the vCPU thread runs on, which competes with the vCPU thread for that CPU.
 */
class HostCpusTest {
    private record Run(RunResult result, List<TraceEvent> events) {
        List<String> names() {
            return events.stream().map(TraceEvent::name).filter(n -> n.startsWith("kvm_")).toList();
        }

        List<String> lines(Class<? extends TraceEvent> type) {
            return events.stream().filter(type::isInstance).map(FtraceFormat::line).toList();
        }

        long time(int vcpu, String category) {
            return result.vcpus().get(vcpu).timeNs().get(category);
        }
    }

    private static Run run(Scenario s) {
        Machine m = new Machine(s);
        List<TraceEvent> events = new ArrayList<>();
        m.attach(events::add);
        return new Run(m.run(), events);
    }

    private static Scenario yaml(String text) {
        return ScenarioLoader.load("t.yaml", text);
    }

    /** Two vCPUs that each fault on remote memory, then compute; {@code host} is the scenario's host section. */
    private static Scenario twoReaders(String host) {
        return yaml("""
                name: t
                duration: 20ms
                vm: {vcpus: 2, memory: 64MiB}
                host: %s
                memory:
                  regions: [{start: 0x300000, size: 64KiB, state: remote}]
                workload:
                  tasks:
                    - {type: script, name: r0, cpu: 0, steps: [{touch: 0x300000}, {touch: 0x301000}, {compute: 5ms}]}
                    - {type: script, name: r1, cpu: 1, steps: [{touch: 0x308000}, {touch: 0x309000}, {compute: 5ms}]}
                    - type: statistical
                      name: spin
                      cpu: 0
                      count: 2
                      compute: {type: constant, value: 50us}
                      touches_per_op: 0
                """.formatted(host));
    }

    @Test
    void scheduleWork_sigbusGupFailsOnTheVcpuThreadsCpuBeforeThePfIsInjected() {
        Run r = run(BuiltinScenarios.load("appc-sigbus-irq-on"));
        List<String> n = r.names();
        int first = n.indexOf("kvm_async_pf_not_present");
        // the real 6.18 host's order: the kworker preempts the vCPU thread before it re-enters the guest
        assertEquals(List.of("kvm_async_pf_not_present", "kvm_async_pf_completed", "kvm_async_pf_ready",
                "kvm_apic_accept_irq", "kvm_inj_exception"), n.subList(first, first + 5));
        String completed = r.lines(TraceEvent.Completed.class).getFirst();
        assertTrue(completed.startsWith("kworker/0:0-") && completed.contains(" [000] "), completed);
        assertTrue(r.time(0, "host_preempted") > 0, "the kworker's time is taken from the vCPU thread");
    }

    @Test
    void systemWqIsPerCpu_theWorkRunsOnTheCpuTheVcpuThreadRunsOn() {
        Run r = run(twoReaders("{cpus: 2, pinning: pinned}"));
        List<TraceEvent.Completed> done = r.events.stream().filter(TraceEvent.Completed.class::isInstance)
                .map(TraceEvent.Completed.class::cast).toList();
        assertTrue(done.size() >= 4, done.toString());
        for (TraceEvent.Completed c : done) {
            assertEquals(c.vcpu(), c.hostCpu(), "vCPU i's thread is pinned to CPU i: " + c);
            String line = FtraceFormat.line(c);
            assertTrue(line.startsWith("kworker/" + c.vcpu() + ":") && line.contains(" [00" + c.vcpu() + "] "), line);
        }
    }

    @Test
    void workerSleepingInGup_poolWakesAnotherWorkerForTheNextItem() {
        Run r = run(yaml("""
                name: t
                duration: 20ms
                vm: {vcpus: 1, memory: 64MiB}
                memory:
                  regions: [{start: 0x300000, size: 64KiB, state: remote}]
                workload:
                  tasks:
                    - {type: script, name: a, steps: [{touch: 0x300000}]}
                    - {type: script, name: b, steps: [{touch: 0x301000}]}
                """));
        List<String> comms = r.lines(TraceEvent.Completed.class).stream().map(l -> l.substring(0, l.indexOf('-')))
                .toList();
        assertEquals(List.of("kworker/0:0", "kworker/0:1"), comms, "the first worker still sleeps on its page");
    }

    @Test
    void overcommit_vcpuThreadsShareAHostCpuBySlice() {
        Run alone = run(twoReaders("{}"));
        Run shared = run(twoReaders("{cpus: 1, sched_slice: 1ms}"));
        for (int v = 0; v < 2; v++) {
            assertTrue(alone.time(v, "host_preempted") < 100_000, "one CPU each: only kworkers preempt");
            assertTrue(shared.time(v, "host_preempted") > 2_000_000, "one CPU for two: waits for the other");
        }
        List<String> completions = shared.lines(TraceEvent.Completed.class);
        assertTrue(completions.stream().allMatch(l -> l.startsWith("kworker/0:")), completions.toString());
        assertTrue(shared.result.tasks().stream().mapToLong(RunResult.TaskResult::ops).sum()
                < alone.result.tasks().stream().mapToLong(RunResult.TaskResult::ops).sum(), "half the CPU");
    }

    @Test
    void defaultHost_oneCpuPerVcpu() {
        Scenario s = twoReaders("{}");
        assertEquals(0, s.kvm().hostCpus().cpus(), "0 = one per vCPU");
        assertEquals(2, s.kvm().hostCpus().count(s.vcpus()));
    }

    @Test
    void pinningIsPinnedOrFloating() {
        ScenarioException e = assertThrows(ScenarioException.class, () -> twoReaders("{pinning: sideways}"));
        assertEquals("host.pinning", e.field(), e.getMessage());
        assertEquals(4, e.line(), e.getMessage());
        assertTrue(e.getMessage().contains("floating") && e.getMessage().contains("pinned"), e.getMessage());
    }

    /** include/trace/events/kvm.h kvm_userspace_exit: {@code "reason %s (%d)"}, nothing after the errno. */
    @Test
    void kvmUserspaceExit_printsReasonErrorAndTheErrnoOnly() {
        String line = FtraceFormat.line(new TraceEvent.UserspaceExit(1_000, 0, 14, "efault"));
        assertTrue(line.endsWith("kvm_userspace_exit: reason error (14)"), line);
    }
}
