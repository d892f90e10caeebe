package dev.apfsim.explore;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exhaustive search's partial-order reduction: two events due at one instant that touch only their own vCPU and
 * host CPU commute, so only one of their orders is explored; the verdict is the same with fewer runs.
 */
class PartialOrderReductionTest {
    private static Explorer.Report exhaustive(Scenario s, boolean por) throws Exception {
        return Explorer.explore(s, new Explorer.Options(Strategy.EXHAUSTIVE, 1, 1, 1, 0, 3, 2, 20_000, por), n -> { });
    }

    @Test
    void eventsOfTwoVcpusOnTheirOwnHostCpusAreExploredInOneOrder() throws Exception {
        // two vCPUs, each on its own host CPU, faulting on different remote pages: their entries, exits and
        // kworkers fall due at the same instants
        Scenario s = BuiltinScenarios.load("conform-two-vcpus", List.of());
        Explorer.Report with = exhaustive(s, true);
        Explorer.Report without = exhaustive(s, false);
        assertNull(with.finding(), () -> with.finding().violation().toString());
        assertNull(without.finding(), () -> without.finding().violation().toString());
        assertTrue(with.complete() && without.complete(), "both exhaust bound 2");
        assertTrue(with.porSkipped() > 0, "event orders skipped: " + with.porSkipped());
        assertEquals(-1, without.porSkipped());
        assertTrue(with.runsDone() < without.runsDone(), with.runsDone() + " runs with, " + without.runsDone()
                + " without");
        assertTrue(with.distinctStates() <= without.distinctStates(), with.distinctStates() + " states with, "
                + without.distinctStates() + " without");
    }

    @Test
    void eventsSharingAVcpuOrAHostCpuOrTheMachineAreDependent() {
        java.util.function.BiPredicate<Integer, Integer> independent = (a, b) -> dev.apfsim.engine.Access.disjoint(
                java.util.Arrays.stream(dev.apfsim.engine.Access.ofFootprint(a)).boxed().toList(),
                java.util.Arrays.stream(dev.apfsim.engine.Access.ofFootprint(b)).boxed().toList());
        int v0h0 = EventHandler.local(0, 0);
        int v1h1 = EventHandler.local(1, 1);
        assertTrue(independent.test(v0h0, v1h1));
        assertFalse(independent.test(v0h0, EventHandler.local(1, 0)), "one host CPU: who runs first");
        assertFalse(independent.test(v0h0, EventHandler.local(0, 1)), "one vCPU: its kworker and thread");
        assertFalse(independent.test(v0h0, EventHandler.SHARED), "a device or a memory event");
    }

    /**
     * The reduction reads what each event touched as it ran: two vCPUs' events on their own host CPUs still depend
     * on each other when both touched one guest frame (two faults on one page at one instant) or the guest's
     * sleeper table, and an event the run never reached is taken to touch everything.
     */
    @Test
    void onlyAnEventThatTouchedNothingOfThoseItOvertakesIsLeftOut() {
        int[] ids = {EventHandler.local(0, 0), EventHandler.local(1, 1), EventHandler.local(2, 2)};
        long[] seqs = {10, 11, 12};
        Exhaustive.Touches t = new Exhaustive.Touches();
        t.watch(seqs);
        t.started(10);
        t.touched(10, dev.apfsim.engine.Access.PAGE | 0x300);
        t.started(11);
        t.touched(11, dev.apfsim.engine.Access.PAGE | 0x301);
        t.started(12);
        t.touched(12, dev.apfsim.engine.Access.PAGE | 0x300);
        assertTrue(Exhaustive.redundant(t, seqs, ids, 1), "other vCPU, other host CPU, other frame");
        assertFalse(Exhaustive.redundant(t, seqs, ids, 2), "event 12 faults on event 10's frame");

        Exhaustive.Touches sleepers = new Exhaustive.Touches();
        sleepers.watch(seqs);
        sleepers.started(10);
        sleepers.touched(10, dev.apfsim.engine.Access.SLEEPERS);
        sleepers.started(11);
        sleepers.touched(11, dev.apfsim.engine.Access.SLEEPERS);
        assertFalse(Exhaustive.redundant(sleepers, seqs, ids, 1), "both wake or queue in async_pf_sleepers");
        assertFalse(Exhaustive.redundant(sleepers, seqs, ids, 2), "event 12 never ran");
    }

    @Test
    void reclaimConflictsWithEveryFrame() {
        long page = dev.apfsim.engine.Access.PAGE | 7;
        assertTrue(dev.apfsim.engine.Access.conflict(dev.apfsim.engine.Access.MEMORY, page));
        assertFalse(dev.apfsim.engine.Access.conflict(page, dev.apfsim.engine.Access.PAGE | 8));
        assertTrue(dev.apfsim.engine.Access.conflict(dev.apfsim.engine.Access.ALL, page));
    }
}
