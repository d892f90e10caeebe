package dev.apfsim.sim;

import dev.apfsim.explore.Explorer;
import dev.apfsim.guest.Task;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Seed 004: the endless retry loop under 6.12 rules and what each proposed fix turns it into. */
class Seed004PoliciesTest {
    private static RunResult run(String name, String variant) {
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get(variant));
        return new Machine(s).run();
    }

    @Test
    void ignoreLoopsWithClimbingTokens() {
        RunResult r = run("seed-004-error-loop", "ignore");
        assertEquals("livelock_suspected", r.outcome().kind());
        assertTrue(r.outcome().lastToken() > r.outcome().firstToken(), "tokens climb");
        assertTrue(r.outcome().retries() >= 500);
        assertEquals("livelock_detected", r.failure().visibleAs());
        assertTrue(r.failure().errorCycles() >= 499);
        assertTrue(r.failure().wastedVcpuNs() > 0 && r.failure().wastedWorkerNs() > 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"error-gfn", "error-gfn-hash", "efault-request"})
    void efaultPoliciesStopTheVm(String policy) {
        RunResult r = run("seed-004-error-loop", policy);
        assertEquals("vm_stopped", r.outcome().kind());
        assertEquals(14, r.outcome().errno());
        assertEquals("vm_stopped", r.failure().visibleAs());
        assertTrue(r.failure().errorCycles() <= 2, "detected within a cycle or two: " + r.failure());
        assertTrue(r.failure().timeToDetectionNs() < 50_000_000L);
    }

    @Test
    void injectErrorKillsOnlyTheFaultingTask() {
        RunResult r = run("seed-004-error-loop", "inject-error");
        assertEquals("ok", r.outcome().kind());
        RunResult.TaskResult victim = r.tasks().stream().filter(t -> t.name().equals("victim")).findFirst()
                .orElseThrow();
        RunResult.TaskResult bystander = r.tasks().stream().filter(t -> t.name().equals("bystander")).findFirst()
                .orElseThrow();
        assertEquals(Task.State.KILLED.name().toLowerCase(), victim.state());
        assertNotNull(victim.killedAtNs());
        assertTrue(bystander.ops() > 10_000, "the other task goes on: " + bystander.ops());
        assertEquals("task_killed", r.failure().visibleAs());
        assertEquals(1, r.counter("tasks_killed"));
        assertEquals(1, r.counter("apf_errors_injected"));
    }

    /**
     * Vitaly's question: does one error_gfn per vCPU still loop when several gfns fail at once? Yes: the kworker
     * (schedule_work → the vCPU thread's CPU) fails its GUP before the vCPU re-enters, so every fault's error_gfn is
     * recorded at the entry that injects its not-present, and the next task's fault overwrites it before the first
     * task retries (docs/findings.md). The 64-entry hash of v2 does not loop.
     */
    @Test
    void singleErrorGfnIsOverwrittenBeforeTheRetry_manyFailingGfnsLoop() {
        assertEquals("livelock_suspected", run("seed-004-many-failing", "ignore").outcome().kind());
        RunResult r = run("seed-004-many-failing", "error-gfn");
        assertEquals("livelock_suspected", r.outcome().kind(), "one error_gfn per vCPU loops");
        assertEquals("vm_stopped", run("seed-004-many-failing", "error-gfn-hash").outcome().kind());
    }

    /**
     * The same loop as the checker reports it: a livelock lasso (prefix + cycle of protocol events) that survives
     * weak and strong fairness, in the scenario's own schedule (run #0): both woken tasks run in every round. The
     * scenario's background tasks are left out: their own accesses are progress, which a lasso (a cycle of the
     * whole state with no progress) cannot contain; with them the loop is reported by livelock_retries instead.
     */
    @Test
    void theCheckerReportsTheErrorGfnLoopAsAFairLasso() throws Exception {
        String name = "seed-004-many-failing";
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get("error-gfn"));
        s = s.withTasks(s.tasks().stream().filter(t -> t instanceof dev.apfsim.workload.TaskSpec.Scripted).toList());
        Explorer.Report report = Explorer.explore(s, new Explorer.Options(20, 1, 1, 0), n -> { });
        assertNotNull(report.finding(), "some schedule livelocks");
        assertEquals("livelock", report.finding().violation().invariant().key());
        assertEquals(0, report.finding().runIndex(), "the scenario's own schedule loops");
        assertNotNull(report.finding().minimal().lasso(), "reported as a lasso");
        assertTrue(report.finding().minimal().lasso().stronglyFair(), "no fair scheduler leaves the cycle");
    }

    /**
     * With the background tasks, whose accesses go on, the whole state never repeats: the loop is found as one
     * task's own cycle (a subset livelock), without waiting for 500 retries.
     */
    @Test
    void withBackgroundProgressTheLoopIsOneTasksOwnCycle() throws Exception {
        String name = "seed-004-many-failing";
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get("error-gfn"));
        Explorer.Report report = Explorer.explore(s, new Explorer.Options(20, 1, 1, 0), n -> { });
        assertNotNull(report.finding(), "some schedule livelocks");
        assertEquals("livelock", report.finding().violation().invariant().key());
        assertTrue(report.finding().violation().detail().contains("no progress of its own while other tasks go on"),
                report.finding().violation().detail());
        assertNotNull(report.finding().original().lasso().looping(), "the run found the task that loops");
    }

    @Test
    void transientFailureHealsOnlyWithoutAFix() {
        RunResult ignore = run("seed-004-transient", "ignore");
        assertEquals("ok", ignore.outcome().kind());
        assertEquals("done", ignore.tasks().get(0).state(), "the reader completes once the window is remapped");
        assertEquals("never", ignore.failure().visibleAs());
        for (String p : new String[]{"error-gfn", "error-gfn-hash", "efault-request"}) {
            assertEquals("vm_stopped", run("seed-004-transient", p).outcome().kind(), p + " stops the VM");
        }
        RunResult inject = run("seed-004-transient", "inject-error");
        assertEquals("killed", inject.tasks().get(0).state(), "inject-error kills a task that would have healed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"error-gfn", "error-gfn-hash", "efault-request", "inject-error"})
    void fixedPoliciesBreakNoInvariant(String policy) throws Exception {
        String name = "seed-004-error-loop";
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get(policy));
        Explorer.Report r = Explorer.explore(s, new Explorer.Options(200, 1, 2, 0), n -> { });
        assertNull(r.finding(), () -> policy + ": " + r.finding().violation());
    }
}
