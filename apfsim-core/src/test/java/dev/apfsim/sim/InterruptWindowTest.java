package dev.apfsim.sim;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An interrupt that arrives while the guest has IF=0 reaches it as soon as it can take it: the host could not inject
 * it ({@code kvm_check_and_inject_events}: {@code interrupt_allowed} false), so it asks for an interrupt-window exit
 * ({@code enable_irq_window}); the guest exits at the first instruction boundary with IF=1 and no STI shadow
 * ({@code vmx_interrupt_blocked}), i.e. after STI plus exactly one instruction, and the next entry injects. An exit
 * whose instruction KVM completes ends the shadow ({@code vmx_skip_emulated_instruction} →
 * {@code vmx_set_interrupt_shadow(vcpu, 0)}), and the shadow covers a compute step's first instruction only.
 *
 * <p>Each script marks the time T0 with an RDMSR exit just before the STI; from it the default costs give the
 * delivery: RDMSR exit and emulation 700 + 300 ns, entry 500 ns, then STI at T0 + 1.5 µs.
 */
class InterruptWindowTest {
    private static final int INT = ApfMsr.MSR_KVM_ASYNC_PF_INT;

    /** A task asleep on an async PF, and one that keeps IF=0 while the page comes in (2 ms), then runs {@code after}. */
    private static SimRun pageReadyUnderCli(String after) {
        return withMaskedTask("cli, compute: 10ms, rdmsr: int, sti, " + after + ", compute: 5ms");
    }

    /** A task asleep on an async PF (the page comes in after 2 ms), and a task {@code masked} running {@code steps}. */
    private static SimRun withMaskedTask(String steps) {
        return SimRun.of(ScenarioLoader.load("irq-window.yaml", TestScenarios.remotePageYaml(
                "{type: script, name: faulter, steps: [touch: 0x300000]}",
                "{type: script, name: masked, steps: [%s]}".formatted(steps))));
    }

    private static TraceEvent.GuestApfWake tokenWake(SimRun r) {
        return r.all(TraceEvent.GuestApfWake.class).stream().filter(w -> w.token() != SimRun.WAKE_ALL)
                .findFirst().orElseThrow(() -> new AssertionError("no page-ready wake\n" + r.dump()));
    }

    private static long t0(SimRun r) {
        return r.all(TraceEvent.Msr.class).stream().filter(m -> !m.write() && m.msr() == INT).findFirst()
                .orElseThrow().time();
    }

    @Test
    void enableIrqWindowDeliversPageReadyOneInstructionIntoAComputeAfterSti() {
        SimRun r = pageReadyUnderCli("compute: 1ms");
        long t0 = t0(r);
        // STI at T0+1.5us; the compute's first instruction is the shadow; interrupt-window exit (700 ns), entry
        // (500 ns) injects 0xf3, the handler (1.5 us) wakes the sleeper: long before the 1 ms compute ends
        assertEquals(t0 + 1_500 + 700 + 500 + 1_500, tokenWake(r).time(), r.dump());
        assertTrue(r.counter("irq_window_exits") > 0, r.dump());
    }

    @Test
    void vmxSkipEmulatedInstructionEndsTheStiShadowAfterAnExitingInstruction() {
        SimRun r = pageReadyUnderCli("wrmsr: {msr: int, value: 0xf3}");
        long t0 = t0(r);
        List<TraceEvent.Msr> intWrites = r.all(TraceEvent.Msr.class).stream()
                .filter(m -> m.write() && m.msr() == INT && m.time() > t0).toList();
        TraceEvent.Msr shadowed = intWrites.getFirst();
        TraceEvent.GuestApfWake wake = tokenWake(r);
        // the WRMSR is the one instruction of shadow: it runs first (its exit at T0+1.5us) ...
        assertEquals(t0 + 1_500, shadowed.time(), r.dump());
        assertTrue(r.events.indexOf(shadowed) < r.events.indexOf(wake), r.dump());
        // ... and its emulation ends the shadow, so the very next entry injects: exit 700 + WRMSR 300, entry 500,
        // handler 1.5 us; no interrupt-window exit in between
        assertEquals(shadowed.time() + 700 + 300 + 500 + 1_500, wake.time(), r.dump());
    }

    @Test
    void kvmArchInterruptAllowedIsFalseInTheStiShadowSoPopfOpensTheWindowAtOnce() {
        // POPF sets IF without a shadow: the window opens at the boundary right after it
        SimRun r = withMaskedTask("cli, compute: 10ms, rdmsr: int, popf: true, compute: 1ms");
        long t0 = t0(r);
        assertEquals(t0 + 1_500 + 700 + 500 + 1_500, tokenWake(r).time(), r.dump());
    }

    @Test
    void timerTicksHeldBackUnderIfZeroArriveOneInstructionAfterSti() {
        // round-robin, 3 ms timeslice, 4 ms tick: the ticks at 4 and 8 ms find IF=0 and wait in the IRR; the held-back
        // tick must arrive right after STI (+ one instruction), and its handler preempts the task for the waiting one
        SimRun r = SimRun.of(ScenarioLoader.load("tick.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                guest: {apf: never}
                workload:
                  tasks:
                    - {type: script, name: masked, steps: [cli, compute: 10ms, rdmsr: int, sti, compute: 2ms]}
                    - {type: script, name: other, steps: [compute: 1ms]}
                """));
        long t0 = t0(r);
        TraceEvent.GuestSwitch preempt = r.all(TraceEvent.GuestSwitch.class).stream()
                .filter(s -> s.next() == 1).findFirst().orElseThrow(() -> new AssertionError(r.dump()));
        // STI at T0+1.5us, window exit 700, entry 500, timer handler 1 us, then the return from interrupt switches
        assertEquals(t0 + 1_500 + 700 + 500 + 1_000, preempt.time(), r.dump());
    }
}
