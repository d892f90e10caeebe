package dev.apfsim.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run always advances simulated time or stops: the engine's watchdog on steps per simulated instant. */
class NoProgressTest {
    @Test
    void anEventLoopAtOneInstantStopsTheRun() {
        Simulator sim = new Simulator(1);
        sim.at(5, new EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                sim.at(sim.now(), this, 0, 0); // again, at the same instant, for ever
            }
        }, 0, 0);
        boolean timeRanOut = sim.run(1_000_000);
        assertFalse(timeRanOut);
        assertTrue(sim.stopped());
        assertEquals(5, sim.stalledAt());
        assertEquals(Simulator.MAX_STEPS_PER_INSTANT + 1, sim.eventCount());
    }

    @Test
    void manyEventsAtOneInstantThatEndAreNotALoop() {
        Simulator sim = new Simulator(1);
        long[] left = {Simulator.MAX_STEPS_PER_INSTANT / 2};
        EventHandler h = new EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                if (--left[0] > 0) {
                    sim.at(sim.now(), this, 0, 0);
                } else {
                    sim.after(1, this, 0, 0); // time moves on: the count starts again
                    left[0] = Simulator.MAX_STEPS_PER_INSTANT / 2;
                }
            }
        };
        sim.at(0, h, 0, 0);
        assertTrue(sim.run(3));
        assertEquals(-1, sim.stalledAt());
        assertFalse(sim.stopped());
    }

    @Test
    void anInterruptRequestedFromAnotherThreadEndsTheRun() throws Exception {
        Simulator sim = new Simulator(1);
        sim.at(0, new EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                sim.after(1, this, 0, 0);
            }
        }, 0, 0);
        Thread t = new Thread(sim::requestInterrupt);
        t.start();
        t.join();
        assertFalse(sim.run(Long.MAX_VALUE - 1));
        assertTrue(sim.interrupted());
        assertTrue(sim.publishedEvents() <= 4096, "stops within one check interval: " + sim.publishedEvents());
    }
}
