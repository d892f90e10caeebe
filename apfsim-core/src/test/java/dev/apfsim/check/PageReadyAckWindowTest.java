package dev.apfsim.check;

import dev.apfsim.explore.Explorer;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The window between the guest's token clear and its ACK (docs/findings.md): 6.12's dequeue asks only for a free
 * token slot, so an exit in that window injects the next page-ready while one is unacknowledged, on x86 and on the
 * arm64 SDEI design alike; {@code page_ready_waits_for_ack} closes it.
 */
class PageReadyAckWindowTest {
    private static Scenario variant(String name, String variant, boolean waitForAck) {
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get(variant));
        return waitForAck ? BuiltinScenarios.load(name, java.util.stream.Stream.concat(
                BuiltinScenarios.variants(name).get(variant).stream(),
                java.util.stream.Stream.of("host.policy.page_ready_waits_for_ack=true")).toList()) : s;
    }

    private static Explorer.Report check(Scenario s, int runs) throws Exception {
        return Explorer.explore(s, new Explorer.Options(runs, 1, 2, 0), n -> { });
    }

    /** {@code slotOnly} breaks the invariant in some schedule of {@code runs}; {@code waitsForAck} in none of them. */
    private static void windowAndItsFix(Scenario slotOnly, Scenario waitsForAck, int runs) throws Exception {
        Explorer.Report slot = check(slotOnly, runs);
        assertNotNull(slot.finding(), "some schedule exits between the token clear and the ACK");
        assertEquals(Invariant.PAGE_READY_WHILE_PENDING, slot.finding().violation().invariant());
        Explorer.Report acked = check(waitsForAck, runs);
        assertNull(acked.finding(), () -> "waiting for the ACK: " + acked.finding().violation());
    }

    @Test
    void arm64SdeiInjectsBetweenTheTokenClearAndTheAckUnlessThePolicyWaits() throws Exception {
        // seed-002's fixed variant is SDEI with the policy
        windowAndItsFix(variant("seed-002-arm64", "sdei", false), variant("seed-002-arm64", "fixed", false), 2_500);
    }

    @Test
    void x86InjectsInTheSameWindowUnlessThePolicyWaits() throws Exception {
        windowAndItsFix(variant("hotplug-page-ready", "fixed", false), variant("hotplug-page-ready", "fixed", true),
                3_000);
    }
}
