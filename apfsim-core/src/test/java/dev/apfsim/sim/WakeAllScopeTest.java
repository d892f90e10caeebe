package dev.apfsim.sim;

import dev.apfsim.engine.Mutants;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code apf_task_wake_all} walks every bucket of the global {@code async_pf_sleepers} table but wakes only the nodes
 * with {@code n->cpu == smp_processor_id()} ({@code arch/x86/kernel/kvm.c}). Built-in {@code hotplug-wake-all}:
 * a sleeper on each of two CPUs, CPU 1 goes offline at 1 ms, both pages arrive at 5 ms.
 */
class WakeAllScopeTest {
    @AfterEach
    void off() {
        Mutants.activate(null);
    }

    @Test
    void kvmGuestCpuOfflineWakesOnlyTheSleepersOfItsOwnCpu() {
        SimRun r = SimRun.of(BuiltinScenarios.load("hotplug-wake-all", List.of()));
        assertEquals(List.of(), r.machine.monitor().violations(), r.dump());
        int wakeAll = r.indexOf(e -> e instanceof TraceEvent.GuestApfWakeAll w && w.vcpu() == 1 && w.woken() == 1);
        assertTrue(wakeAll > 0, r.dump());
        // CPU 0's sleeper (task 0) is woken by its own page-ready, after the wake-all, not by it
        int own = r.indexOf(e -> e instanceof TraceEvent.GuestApfWake w && w.task() == 0 && w.token() == 0x1000);
        assertTrue(own > wakeAll && r.events.get(own).time() >= 5_000_000, r.dump());
    }

    @Test
    void aWakeAllThatWakesEveryCpusSleepersBreaksWakeAllScope() {
        Mutants.activate(Mutants.Mutant.WAKE_ALL_EVERY_CPU);
        SimRun r = SimRun.of(BuiltinScenarios.load("hotplug-wake-all", List.of()));
        assertEquals("wake-all-scope", r.machine.monitor().violations().getFirst().invariant().key(), r.dump());
        assertTrue(r.machine.monitor().violations().getFirst().detail().contains("woke task 0 asleep on token 0x1000 "
                + "registered on CPU 0"), r.machine.monitor().violations().toString());
    }
}
