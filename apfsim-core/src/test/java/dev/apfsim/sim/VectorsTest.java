package dev.apfsim.sim;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.ScenarioException;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Linux's vectors: LOCAL_TIMER_VECTOR 0xec, HYPERVISOR_CALLBACK_VECTOR 0xf3 ({@code irq_vectors.h}). */
class VectorsTest {
    private static final String CPU_BOUND = """
            workload:
              tasks:
                - {type: statistical, name: spin, compute: 100us, touches_per_op: 0}
            """;

    @Test
    void localTimerVector_pageReadyOnTheTimersVectorIsAnErrorAtTheField() {
        ScenarioException e = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                guest:
                  apf_vector: 0xec
                """));
        assertEquals(3, e.line());
        assertEquals(15, e.column());
        assertTrue(e.getMessage().startsWith("v.yaml:3:15: field guest.apf_vector: page-ready vector 0xec is the "
                + "guest timer's vector"), e.getMessage());
        e = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml",
                "guest: {timer_vector: 0xf3}\n"));
        assertTrue(e.getMessage().contains("field guest.timer_vector: page-ready vector 0xf3"), e.getMessage());
        e = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml", "guest: {apf_vector: 0xfd}\n"));
        assertTrue(e.getMessage().contains("RESCHEDULE_VECTOR"), e.getMessage());
        e = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml",
                "guest: {kind: test, tick: 4ms, test: {vector: 0xec}}\n"));
        assertTrue(e.getMessage().contains("field guest.test.vector"), e.getMessage());
        ScenarioLoader.load("v.yaml", "guest: {kind: test, test: {vector: 0xec}}\n"); // no tick: 0xec is free
    }

    /** With the timer moved, page-ready may use 0xec and the ticks (on the new vector) stay ticks. */
    @Test
    void localTimerVector_theTimerVectorIsConfigurableAndTicksStayTicks() {
        SimRun r = SimRun.of(ScenarioLoader.load("v.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                duration: 20ms
                guest: {apf_vector: 0xec, timer_vector: 0xef, tick: 1ms}
                """ + CPU_BOUND));
        List<TraceEvent.ApicAcceptIrq> irqs = r.all(TraceEvent.ApicAcceptIrq.class);
        assertTrue(irqs.stream().filter(i -> i.vector() == 0xef).count() >= 15, r.dump());
        assertEquals(1, irqs.stream().filter(i -> i.vector() == 0xec).count()); // the wake-all
        assertEquals(1, r.counter("guest_apf_irqs"));
    }

    /**
     * A Linux guest's IDT has the timer handler at LOCAL_TIMER_VECTOR whatever the script registers with
     * MSR_KVM_ASYNC_PF_INT: a page-ready sent there runs the timer handler, and ticks never run the page-ready one.
     */
    @Test
    void localTimerVector_aScriptRegisteringTheTimersVectorGetsTheTimerHandler() {
        SimRun r = SimRun.of(ScenarioLoader.load("v.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                duration: 20ms
                guest: {apf: never, tick: 1ms}
                workload:
                  tasks:
                    - type: script
                      name: manual
                      steps: [wrmsr: {msr: int, value: 0xec}, wrmsr: {msr: en, value: 0x9009}, compute: 15ms]
                """));
        assertFalse(r.where(e -> e instanceof TraceEvent.Ready x && x.token() == SimRun.WAKE_ALL).isEmpty());
        assertTrue(r.all(TraceEvent.ApicAcceptIrq.class).size() >= 10, r.dump());
        assertEquals(0, r.counter("guest_apf_irqs"), r.dump());
    }

    /** {@code example-minimal} uses Linux's vectors: each page-ready interrupt is one, and ticks are ticks. */
    @Test
    void hypervisorCallbackVector_exampleMinimalTakesNoTickForPageReady() {
        SimRun r = SimRun.of(BuiltinScenarios.load("example-minimal", List.of("duration=200ms")));
        assertEquals(0xf3, r.machine.scenario().guest().apfVector());
        long pageReady = r.all(TraceEvent.ApicAcceptIrq.class).stream().filter(i -> i.vector() == 0xf3).count();
        assertEquals(4, pageReady, r.dump()); // the wake-all and the three pages
        assertEquals(pageReady, r.counter("guest_apf_irqs"));
    }
}
