package dev.apfsim.check;

import dev.apfsim.explore.RunCase;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A livelock of some tasks while others make progress: in seed-004-many-failing the tasks on the failing gfns loop
 * while the background tasks go on mapping pages, so the whole state never repeats. The faulting task's own share
 * of the state does, and that is reported after three rounds, long before {@code livelock_retries} (500) would be.
 */
class SubsetLivelockTest {
    private static RunCase ownRun(String variant) {
        String name = "seed-004-many-failing";
        return RunCase.run(BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get(variant)), true);
    }

    @Test
    void aTaskLoopingAmongProgressingTasksIsALivelockOfThatTask() {
        for (String variant : new String[]{"ignore", "error-gfn"}) {
            RunCase c = ownRun(variant);
            assertNotNull(c.violation(), variant);
            assertEquals(Invariant.LIVELOCK, c.violation().invariant(), variant);
            assertNotNull(c.lasso(), variant + ": reported as a cycle, not by the retry count");
            assertNotNull(c.lasso().looping(), variant + ": the other tasks progress, so only a subset loops");
            assertTrue(c.violation().detail().contains("task " + c.lasso().looping()), c.violation().detail());
            assertTrue(c.lasso().weaklyFair(), variant);
            assertTrue(c.protocolEvents() < 2_000, variant + ": found in " + c.protocolEvents() + " protocol events");
        }
    }

    @Test
    void theFixedPolicyKillsTheTasksInsteadOfLooping() {
        RunCase c = ownRun("error-gfn-hash");
        assertNull(c.lasso(), () -> c.violation().detail());
        assertTrue(c.violation() == null || c.violation().invariant() != Invariant.LIVELOCK);
    }

    /**
     * Under memory overcommit a task faults on a page again while its worker is still reading it (a repeated fault:
     * the vCPU halts until the page-ready); interrupts wake the vCPU and the task faults again, in the same state
     * each time. That is waiting for the I/O, not a loop: no fault attempt on a page in flight is a visit. (Run #10
     * of this exploration reported oltp-1 as looping before the rule.)
     */
    @Test
    void repeatedFaultsOnAPageInFlightAreNotALoop() throws Exception {
        Scenario s = BuiltinScenarios.load("overcommit-ssd", java.util.List.of(
                "host.policy.page_ready_waits_for_ack=true")).withDuration(2_500_000_000L);
        dev.apfsim.explore.Explorer.Report r = dev.apfsim.explore.Explorer.explore(s,
                new dev.apfsim.explore.Explorer.Options(11, 1, 2, 0), n -> { });
        assertTrue(r.finding() == null || r.finding().violation().invariant() != Invariant.LIVELOCK,
                () -> r.finding().violation().toString());
    }

    @Test
    void aLoopOfTheWholeStateIsStillReportedAsOne() {
        String name = "seed-004-error-loop";
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get("ignore"));
        RunCase c = RunCase.run(s, true);
        assertNotNull(c.lasso());
        assertNull(c.lasso().looping(), "one task and a bystander: the whole state repeats");
    }
}
