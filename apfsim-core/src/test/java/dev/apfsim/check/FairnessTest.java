package dev.apfsim.check;

import dev.apfsim.explore.RunCase;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * check.fairness: a cycle with no progress in which a runnable task never runs is one no fair scheduler keeps to
 * (CFS runs every runnable task eventually), so only under {@code none} is it a livelock; under weak and strong
 * fairness the search goes on to a cycle every runnable task takes part in.
 */
class FairnessTest {
    private static RunCase scenarioOwnRun(Fairness f) {
        String name = "seed-004-error-loop";
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get("ignore"));
        return RunCase.run(s.withCheck(s.check().withFairness(f)), true);
    }

    @Test
    void aCycleThatStarvesATaskIsALivelockOnlyWithoutFairness() {
        RunCase unfair = scenarioOwnRun(Fairness.NONE);
        assertNotNull(unfair.lasso());
        assertFalse(unfair.lasso().weaklyFair(), "the first cycle leaves the bystander runnable and never run");
        assertEquals("bystander", unfair.lasso().unfairTo());

        for (Fairness f : new Fairness[]{Fairness.WEAK, Fairness.STRONG}) {
            RunCase fair = scenarioOwnRun(f);
            assertNotNull(fair.lasso(), f + ": the error loop itself is a fair livelock");
            assertTrue(fair.lasso().weaklyFair() && fair.lasso().stronglyFair(), f.key());
            assertTrue(fair.violation().timeNs() > unfair.violation().timeNs(),
                    f + ": the starving cycle is passed over, the fair one comes later");
        }
    }

    @Test
    void weakFairnessIsTheDefault() {
        String name = "seed-004-error-loop";
        assertEquals(Fairness.WEAK, BuiltinScenarios.load(name, java.util.List.of()).check().fairness());
    }
}
