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
        int v0h0 = EventHandler.local(0, 0);
        int v1h1 = EventHandler.local(1, 1);
        assertTrue(EventHandler.independent(v0h0, v1h1));
        assertFalse(EventHandler.independent(v0h0, EventHandler.local(1, 0)), "one host CPU: who runs first");
        assertFalse(EventHandler.independent(v0h0, EventHandler.local(0, 1)), "one vCPU: its kworker and thread");
        assertFalse(EventHandler.independent(v0h0, EventHandler.SHARED), "a device or a memory event");
    }

    @Test
    void onlyAnEventThatCommutesWithEveryEventItOvertakesIsLeftOut() {
        int[] ids = {EventHandler.local(0, 0), EventHandler.local(1, 1), EventHandler.local(2, 0)};
        assertTrue(Exhaustive.redundant(dev.apfsim.engine.Choices.Point.EVENT_ORDER, ids, 1));
        assertFalse(Exhaustive.redundant(dev.apfsim.engine.Choices.Point.EVENT_ORDER, ids, 2),
                "event 2 shares host CPU 0 with event 0");
        assertFalse(Exhaustive.redundant(dev.apfsim.engine.Choices.Point.GUEST_TASK, ids, 1));
    }
}
