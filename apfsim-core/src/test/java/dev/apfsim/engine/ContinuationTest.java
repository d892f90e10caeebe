package dev.apfsim.engine;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An actor's next step ({@link Simulator#continueAt}) runs without a queued event only when nothing else can come
 * first; otherwise it is ordered exactly as the event {@link Simulator#at} would have queued at the same moment.
 */
class ContinuationTest {
    /** Records "name@time" per step; code 1 asks for a continuation {@code arg} ns later. */
    static final class Actor implements EventHandler {
        final Simulator sim;
        final String name;
        final List<String> log;

        Actor(Simulator sim, String name, List<String> log) {
            this.sim = sim;
            this.name = name;
            this.log = log;
        }

        @Override
        public void onEvent(int code, long arg) {
            log.add(name + "@" + sim.now());
            if (code == 1) {
                sim.continueAt(sim.now() + arg, this, 0, 0);
            }
        }
    }

    @Test
    void aStepDueBeforeEveryPendingEventRunsWithoutAnEngineEvent() {
        Simulator sim = new Simulator(1);
        List<String> log = new ArrayList<>();
        Actor a = new Actor(sim, "a", log);
        sim.at(10, a, 1, 5);
        sim.at(20, new Actor(sim, "b", log), 0, 0);
        sim.run(1_000);
        assertEquals(List.of("a@10", "a@15", "b@20"), log);
        assertEquals(2, sim.eventCount());
        assertEquals(1, sim.inlineSteps());
    }

    @Test
    void aStepDueWithAnotherEventKeepsTheOrderTheQueueWouldHaveGivenIt() {
        for (boolean before : new boolean[]{true, false}) {
            Simulator sim = new Simulator(1);
            List<String> log = new ArrayList<>();
            Actor b = new Actor(sim, "b", log);
            EventHandler a = new EventHandler() {
                @Override
                public void onEvent(int code, long arg) {
                    log.add("a@" + sim.now());
                    if (before) {
                        sim.at(15, b, 0, 0); // queued before the continuation: runs first
                    }
                    sim.continueAt(15, new Actor(sim, "a'", log), 0, 0);
                    if (!before) {
                        sim.at(15, b, 0, 0); // queued after it: runs after it
                    }
                }
            };
            sim.at(10, a, 0, 0);
            sim.run(1_000);
            assertEquals(before ? List.of("a@10", "b@15", "a'@15") : List.of("a@10", "a'@15", "b@15"), log);
            assertEquals(3, sim.eventCount(), "a tie is a choice: both went through the queue");
            assertEquals(0, sim.inlineSteps());
        }
    }

    @Test
    void aTieIsStillAnEventOrderChoice() {
        Simulator sim = new Simulator(1);
        List<String> log = new ArrayList<>();
        List<Integer> offered = new ArrayList<>();
        sim.setChoices(new Choices() {
            @Override
            public int pick(Point point, int n, int[] ids) {
                offered.add(n);
                return n - 1;
            }

            @Override
            public long cost(Cost cost, long value) {
                return value;
            }
        });
        Actor b = new Actor(sim, "b", log);
        sim.at(10, new EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                sim.at(15, b, 0, 0);
                sim.continueAt(15, new Actor(sim, "a", log), 0, 0);
            }
        }, 0, 0);
        sim.run(1_000);
        assertEquals(List.of("a@15", "b@15"), log);
        assertEquals(List.of(2), offered);
    }

    @Test
    void theHorizonSeesAContinuationAndTheEndOfARunStopsIt() {
        Simulator sim = new Simulator(1);
        List<String> log = new ArrayList<>();
        long[] horizon = new long[1];
        sim.at(10, new EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                sim.continueAt(100, new Actor(sim, "late", log), 0, 0);
                horizon[0] = sim.horizon();
            }
        }, 0, 0);
        assertTrue(sim.run(50));
        assertEquals(50, horizon[0], "capped at the end of the run");
        assertEquals(List.of(), log, "due after the end: not run");
        assertEquals(1, sim.pending());
        sim.run(1_000);
        assertEquals(List.of("late@100"), log, "it was queued for the next run");
    }
}
