package dev.apfsim.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checker's deterministic watchdog: a run stops after a fixed number of engine steps, queued or inline. */
class StepLimitTest {
    /** An actor that goes on for ever, 1 ns a step, as continuations (inline) or as queued events. */
    private static long[] endless(Simulator sim, boolean inline) {
        long[] ran = {0};
        sim.at(0, new EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                ran[0]++;
                if (inline) {
                    sim.continueAt(sim.now() + 1, this, 0, 0);
                } else {
                    sim.after(1, this, 0, 0);
                }
            }
        }, 0, 0);
        return ran;
    }

    @Test
    void aRunStopsAfterItsStepBoundCountingInlineContinuations() {
        for (boolean inline : new boolean[]{true, false}) {
            Simulator sim = new Simulator(1);
            long[] ran = endless(sim, inline);
            sim.setMaxSteps(1_000);
            assertFalse(sim.run(1_000_000_000));
            assertTrue(sim.stepLimited() && sim.stopped());
            assertEquals(1_000, ran[0]);
            assertEquals(1_000, sim.steps());
            assertEquals(999, sim.now(), "the same instant whatever the machine");
        }
    }

    @Test
    void withoutABoundTheSameRunEndsAtItsTime() {
        Simulator sim = new Simulator(1);
        long[] ran = endless(sim, true);
        assertTrue(sim.run(5_000));
        assertFalse(sim.stepLimited());
        assertEquals(5_000, ran[0]);
    }
}
