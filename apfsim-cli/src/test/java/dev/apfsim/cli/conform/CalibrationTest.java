package dev.apfsim.cli.conform;

import dev.apfsim.kvm.HostCosts;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioLoader;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code apfsim conform --calibrate}: gaps to costs, and a block that pastes into a scenario. */
class CalibrationTest {
    @Test
    void aCostIsTheLowTailOfItsGapsNotTheTimeSpentWaitingForACpu() {
        List<Long> gaps = List.of(900L, 100L, 5_000_000L, 120L, 130L, 110L, 150L, 140L, 4_000_000L, 160L, 170L);
        Calibration.Cost c = Calibration.cost(gaps, 7);
        assertEquals(110, c.ns());
        assertEquals(150, c.medianNs());
        assertEquals(11, c.samples());
        assertEquals(new Calibration.Cost(7, 7, 0), Calibration.cost(List.of(), 7));
    }

    @Test
    void theRecordedRunsGapsGiveEveryCostAndThePrintedBlockLoadsAsHostCosts() {
        ApfTrace real = ConformRecordedTest.recorded("appc-first-enable");
        Calibration.Gaps g = new Calibration.Gaps();
        g.add(real.events(), List.of());
        Calibration.Fit f = g.fit("software backend kvm_pvm");
        // two CPL3 faults, each set up, injected and completed
        assertEquals(2, f.costs().get("async_setup").samples());
        assertEquals(2, f.costs().get("vm_entry").samples());
        assertEquals(2, f.costs().get("halt_wakeup").samples());
        assertEquals(1, f.costs().get("vm_exit").samples());
        // no userfaultfd log: worker_dispatch keeps the model's default
        assertEquals(HostCosts.defaults().workerDispatchNs(), f.costs().get("worker_dispatch").ns());

        Scenario s = ScenarioLoader.load("pasted.yaml", """
                name: pasted
                vm: {vcpus: 1, memory: 64MiB}
                """ + f.yaml());
        HostCosts c = s.kvm().costs();
        assertEquals(round(f.costs().get("vm_exit").ns()), c.vmExitNs());
        assertEquals(round(f.costs().get("vm_entry").ns()), c.vmEntryNs());
        assertEquals(round(f.costs().get("async_setup").ns()), c.asyncSetupNs());
        assertEquals(round(f.costs().get("halt_wakeup").ns()), c.haltWakeupNs());
        assertEquals(HostCosts.defaults().msrNs(), c.msrNs());
    }

    private static long round(long ns) {
        return ns >= 10_000 ? Math.round(ns / 1000.0) * 1000 : ns;
    }
}
