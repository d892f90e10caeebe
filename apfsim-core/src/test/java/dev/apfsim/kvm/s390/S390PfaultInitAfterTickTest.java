package dev.apfsim.kvm.s390;

import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * s390: the guest's tick gets ahead of a PFAULT_INIT. A user task faults 3.7 ms into its slice and the vCPU
 * re-enters 500 us later, after the 4 ms tick became pending: {@code kvm_s390_deliver_pending_interrupts} delivers
 * by priority, the clock comparator first, and the tick handler asks for a reschedule. {@code
 * exit_to_user_mode_loop} enables interrupts before it calls {@code schedule()}, so the held PFAULT_INIT arrives
 * while the task that faulted is still current: {@code pfault_interrupt} puts it to sleep, and its
 * {@code WARN_ON_ONCE(tsk != current)} does not fire ({@code guest-warning}). A guest that switched first would
 * give the INIT to another task, which the guest drops with the warning.
 */
class S390PfaultInitAfterTickTest {
    private static final String YAML = """
            name: t
            duration: 20ms
            vm: {vcpus: 1, memory: 64MiB}
            host:
              arch: s390
              costs: {async_setup: 500us}
              swap: {latency: {type: constant, value: 200us}}
            memory:
              regions: [{start: 0x300000, size: 64KiB, state: swapped}]
            workload:
              tasks:
                - {type: script, name: victim, cpu: 0, steps: [{compute: 3700us}, {touch: 0x300000}]}
                - {type: statistical, name: other, cpu: 0, compute: {type: constant, value: 50us},
                   touches_per_op: 0, max_ops: 200}
            """;

    @Test
    void theInitHeldBehindTheTickReachesTheTaskThatFaulted() {
        Machine m = new Machine(ScenarioLoader.load("t.yaml", YAML));
        List<TraceEvent> events = new ArrayList<>();
        m.attach(events::add);
        RunResult r = m.run();
        assertEquals(List.of(), r.violations());
        TraceEvent.S390PfaultInit init = events.stream().filter(TraceEvent.S390PfaultInit.class::isInstance)
                .map(TraceEvent.S390PfaultInit.class::cast).findFirst().orElseThrow();
        TraceEvent.GuestApfWait sleep = events.stream().filter(e -> e instanceof TraceEvent.GuestApfWait w
                        && w.task() == 0 && !w.dummyConsumed()).map(TraceEvent.GuestApfWait.class::cast).findFirst()
                .orElse(null);
        assertTrue(sleep != null, "the task that faulted sleeps on its PFAULT_INIT: " + events);
        assertTrue(sleep.time() > 4_000_000 && init.time() < 4_000_000,
                "the fault came before the tick, the INIT after it");
        assertTrue(events.stream().anyMatch(e -> e instanceof TraceEvent.GuestApfWake w && w.task() == 0),
                "woken by its PFAULT_DONE");
        int sleepAt = events.indexOf(sleep);
        assertTrue(events.subList(sleepAt + 1, events.size()).stream()
                        .anyMatch(e -> e instanceof TraceEvent.GuestSwitch s && s.next() == 1),
                "the tick's reschedule runs the other task after the INIT: " + events);
        assertEquals("done", r.tasks().getFirst().state());
    }

    /**
     * The overcommit scenario on an s390 host: thousands of pfault handshakes under ticks, with task switches at
     * every return from interrupt. Every INIT reaches the task that faulted (no WARN, so no second item with the
     * same token), and a sleeper caught between its PFAULT_DONE's delivery and its handler at two checks of two
     * different sleeps is not taken for an orphan ({@code SleeperCheck}'s grace is per sleep).
     */
    @Test
    void theOvercommitScenarioOnS390HasNoViolation() {
        dev.apfsim.scenario.Scenario s = dev.apfsim.scenario.BuiltinScenarios.load("overcommit-ssd",
                List.of("host.arch=s390"));
        RunResult r = new Machine(s).run();
        assertEquals(List.of(), r.violations());
        assertTrue(r.counter(dev.apfsim.metrics.Counter.NOT_PRESENT_INJECTED.key()) > 10_000,
                "many pfault handshakes: " + r.counter(dev.apfsim.metrics.Counter.NOT_PRESENT_INJECTED.key()));
    }

    /**
     * The first eight checked runs of the same: in run #7 a PFAULT_DONE's kworker ran on a host CPU given up by
     * another vCPU thread while this vCPU's guest was being run ahead, and kicked it from inside that run; the
     * kick re-entered the vCPU, which took a second PFAULT_DONE on guest state of the future and lost it (a false
     * lost-wakeup). A kick from inside the guest's own run is now an event after it.
     */
    @Test
    void aKickFromInsideTheGuestsOwnRunDoesNotReenterIt() throws Exception {
        dev.apfsim.scenario.Scenario s = dev.apfsim.scenario.BuiltinScenarios.load("overcommit-ssd",
                List.of("host.arch=s390"));
        dev.apfsim.explore.Explorer.Report r = dev.apfsim.explore.Explorer.explore(s,
                new dev.apfsim.explore.Explorer.Options(dev.apfsim.explore.Strategy.PORTFOLIO, 8, 1, 1, 0, 3, 2,
                        20_000), n -> { });
        assertEquals(null, r.finding(), () -> r.finding().violation().toString());
        assertEquals(8, r.runsDone());
    }
}
