package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.workload.Pattern;
import dev.apfsim.workload.TaskSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.apfsim.sim.TestScenarios.MS;
import static dev.apfsim.sim.TestScenarios.US;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code guest.scheduler: cfs}: a task that sleeps often, next to a CPU-bound task on the same CPU, runs right
 * after it wakes (wake-up preemption of a sleeper placed behind the CPU hog), where round-robin makes it wait at
 * the tail of the run queue until the hog's timeslice ends at a tick.
 */
class CfsSchedulerTest {
    private static final long REMOTE = 1L << 20;
    private static final int ROUNDS = 100;

    /** One vCPU: "io" sleeps 500 us ({@code sleep}) or waits for a remote page (async PF) after each 20 us of work. */
    static Scenario scenario(GuestConfig.SchedulerPolicy policy, boolean apfWaits) {
        List<Action> steps = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            steps.add(TestScenarios.compute(20 * US));
            steps.add(apfWaits ? TestScenarios.touch(REMOTE + i * 4096L) : new Action.Sleep(500 * US));
        }
        return TestScenarios.builder().duration(400 * MS)
                .guest(GuestConfig.defaults().withScheduler(policy))
                .remote(REMOTE, ROUNDS * 4096L).remoteLatency(500 * US)
                .task("io", 0, steps.toArray(Action[]::new))
                .task(new TaskSpec.Statistical("cpu", 0, 1, new LatencyDistribution.Constant(100 * US), 0, 0, 4096,
                        new Pattern.Uniform(), 0, 0, 0, 0))
                .build();
    }

    /** For each wake-up of task {@code id}: the time until it was switched in. */
    static List<Long> wakeToRun(SimRun run, int id) {
        List<Long> out = new ArrayList<>();
        Map<Integer, Long> wokenAt = new HashMap<>();
        for (TraceEvent e : run.events) {
            if (e instanceof TraceEvent.GuestWakeup w && w.task() == id) {
                wokenAt.put(id, w.time());
            } else if (e instanceof TraceEvent.GuestSwitch s && s.next() == id && wokenAt.containsKey(id)) {
                out.add(s.time() - wokenAt.remove(id));
            }
        }
        return out;
    }

    static int idOf(SimRun run, String name) {
        for (int i = 0; ; i++) {
            if (run.task(i).name.equals(name)) {
                return i;
            }
        }
    }

    private static void comparePolicies(boolean apfWaits) {
        SimRun rr = SimRun.of(scenario(GuestConfig.SchedulerPolicy.ROUND_ROBIN, apfWaits));
        SimRun cfs = SimRun.of(scenario(GuestConfig.SchedulerPolicy.CFS, apfWaits));
        List<Long> rrLat = wakeToRun(rr, idOf(rr, "io"));
        List<Long> cfsLat = wakeToRun(cfs, idOf(cfs, "io"));
        assertTrue(rrLat.size() >= 20, "round-robin wake-ups: " + rrLat.size());
        assertTrue(cfsLat.size() >= ROUNDS - 1, "cfs: every round ran, " + cfsLat.size());

        // cfs: the first wake-up finds the hog less than the 1 ms wakeup granularity ahead (both started at 0), so
        // the sleeper waits for the tick; from then on it is placed 3 ms (sched_latency / 2) behind the hog and every
        // wake-up preempts it as soon as the waking handler (or the reschedule IPI) returns
        assertTrue(cfsLat.getFirst() > MS, "cfs first wake-to-run " + cfsLat.getFirst());
        long cfsMax = cfsLat.stream().skip(1).mapToLong(Long::longValue).max().orElseThrow();
        assertTrue(cfsMax < 20 * US, "cfs worst wake-to-run after the first " + cfsMax + " ns: " + cfsLat);
        // round-robin: the woken task waits at the tail until the hog's 3 ms slice ends at a (4 ms) tick
        double rrMean = rrLat.stream().mapToLong(Long::longValue).average().orElseThrow();
        assertTrue(rrMean > MS, "round-robin mean wake-to-run " + rrMean + " ns: " + rrLat);
        assertTrue(rrLat.stream().skip(1).filter(l -> l > MS).count() > rrLat.size() / 2, "round-robin: " + rrLat);
        if (apfWaits) { // each completed touch is an operation: all of them under cfs
            assertEquals(ROUNDS, cfs.task(idOf(cfs, "io")).ops());
            assertTrue(rr.task(idOf(rr, "io")).ops() < ROUNDS, "round-robin: " + rr.task(idOf(rr, "io")).ops());
        }
        // so cfs gets the sleeper through its rounds (about 520 us each) in a fraction of round-robin's time
        long cfsDone = exitTime(cfs, idOf(cfs, "io"));
        long rrDone = exitTime(rr, idOf(rr, "io"));
        assertTrue(cfsDone > 0 && cfsDone < ROUNDS * 600 * US + 4 * MS, "cfs: io done at " + cfsDone);
        assertTrue(rrDone < 0 || rrDone > 4 * cfsDone, "round-robin: io done at " + rrDone);
    }

    /** When task {@code id} returned from its program, or -1. */
    static long exitTime(SimRun run, int id) {
        return run.all(TraceEvent.GuestTaskExit.class).stream().filter(e -> e.task() == id)
                .mapToLong(TraceEvent.GuestTaskExit::time).findFirst().orElse(-1);
    }

    @Test
    void aSleeperPreemptsTheCpuHogOnWakeUp() {
        comparePolicies(false);
    }

    @Test
    void anAsyncPfWaiterPreemptsTheCpuHogOnPageReady() {
        comparePolicies(true);
    }

    @Test
    void cfsIsDeterministic() {
        Scenario s = scenario(GuestConfig.SchedulerPolicy.CFS, true);
        assertEquals(SimRun.of(s).result.fingerprint(), SimRun.of(s).result.fingerprint());
        assertEquals(DeterminismTest.run(DeterminismTest.statistical(42).withGuest(cfs())).fingerprint(),
                DeterminismTest.run(DeterminismTest.statistical(42).withGuest(cfs())).fingerprint());
        assertNotEquals(DeterminismTest.run(DeterminismTest.statistical(42)).fingerprint(),
                DeterminismTest.run(DeterminismTest.statistical(42).withGuest(cfs())).fingerprint(),
                "the policy changes the schedule");
    }

    private static GuestConfig cfs() {
        return GuestConfig.defaults().withScheduler(GuestConfig.SchedulerPolicy.CFS);
    }
}
