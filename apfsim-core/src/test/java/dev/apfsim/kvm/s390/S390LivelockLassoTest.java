package dev.apfsim.kvm.s390;

import dev.apfsim.check.Invariant;
import dev.apfsim.explore.Explorer;
import dev.apfsim.explore.Strategy;
import dev.apfsim.scenario.ScenarioLoader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seed 004's loop on an s390 host: the worker's GUP of a SIGBUS page fails, its PFAULT_DONE is sent all the same
 * ({@code CONFIG_KVM_ASYNC_PF_SYNC}), the task retries and faults again. {@code check} samples the abstract state at
 * every {@code kvm_s390_major_guest_pfault} (with s390's pfault state: token registered, INIT pending, DONEs
 * waiting, each task's {@code pfault_wait}) and reports the loop as a short lasso in the scenario's own run, not
 * after a retry threshold.
 */
class S390LivelockLassoTest {
    private static final String YAML = """
            name: s390-loop
            duration: 20ms
            vm: {vcpus: 1, memory: 64MiB}
            host:
              arch: s390
              swap: {latency: {type: constant, value: 200us}}
            memory:
              regions: [{start: 0x300000, size: 64KiB, state: swapped}]
              failures: [{kind: sigbus, start: 0x300000}]
            workload:
              tasks:
                - {type: script, name: reader, cpu: 0, steps: [{touch: 0x300000}]}
            """;

    @Test
    void theRetryLoopIsALassoOfTheScenariosOwnRun() throws Exception {
        Explorer.Report r = Explorer.explore(ScenarioLoader.load("t.yaml", YAML),
                new Explorer.Options(Strategy.PORTFOLIO, 100, 1, 1, 50, 3, 2, 20_000), n -> { });
        assertNotNull(r.finding());
        assertEquals(Invariant.LIVELOCK, r.finding().minimal().violation().invariant());
        assertEquals(0, r.finding().runIndex(), "no schedule needed");
        var lasso = r.finding().minimal().lasso();
        assertNotNull(lasso, "a lasso, not the retry threshold: " + r.finding().minimal().violation());
        assertTrue(lasso.cycleLength() <= 8, "major fault, INIT, DONE, completed, wait, wake: " + lasso.cycleLength());
        assertTrue(r.distinctStates() > 0, "s390 states are sampled");
    }

    @Test
    void aPageThatArrivesIsNoLoop() throws Exception {
        Explorer.Report r = Explorer.explore(ScenarioLoader.load("t.yaml", YAML.replace(
                "failures: [{kind: sigbus, start: 0x300000}]", "failures: []")),
                new Explorer.Options(Strategy.PORTFOLIO, 300, 1, 1, 50, 3, 2, 20_000), n -> { });
        assertEquals(null, r.finding(), () -> r.finding().violation().toString());
    }
}
