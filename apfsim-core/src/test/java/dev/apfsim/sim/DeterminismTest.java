package dev.apfsim.sim;

import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.Fingerprint;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.workload.Pattern;
import dev.apfsim.workload.TaskSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.apfsim.sim.TestScenarios.MS;
import static dev.apfsim.sim.TestScenarios.US;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One scenario and seed name one execution: same fingerprint and trace every time, in any thread. */
class DeterminismTest {
    /**
     * Two vCPUs, a statistical memory-bound workload over a swapped-out working set larger than the host
     * allows (so reclaim runs), random compute bursts, device latencies and page choices: every draw depends
     * on the seed.
     */
    static Scenario statistical(long seed) {
        return TestScenarios.builder().seed(seed).vcpus(2).duration(2_000 * MS)
                .memory(128L << 20, 80L << 20)
                .swapped(64L << 20, 32L << 20).remote(32L << 20, 8L << 20)
                .swapLatency(new LatencyDistribution.LogNormal(200 * US, MS))
                .remoteLatency(new LatencyDistribution.Exponential(500 * US))
                .task(new TaskSpec.Statistical("mem", 0, 3, new LatencyDistribution.Exponential(20 * US), 2,
                        64L << 20, 32L << 20, new Pattern.HotCold(0.2, 0.8), 0.3, 0.1, 0.05, 150))
                .task(new TaskSpec.Statistical("post", 1, 1, new LatencyDistribution.Exponential(30 * US), 1,
                        32L << 20, 8L << 20, new Pattern.Zipfian(0.9), 0.5, 0.0, 0.0, 150))
                .task(new TaskSpec.Statistical("cpu", 1, 1, new LatencyDistribution.Constant(100 * US), 0,
                        0, 4096, new Pattern.Uniform(), 0, 0, 0, 300))
                .build();
    }

    record Out(String fingerprint, List<String> lines, List<TraceEvent> events, RunResult result) {
    }

    static Out run(Scenario s) {
        Machine m = new Machine(s);
        List<String> lines = new ArrayList<>();
        List<TraceEvent> events = new ArrayList<>();
        m.attach(e -> {
            lines.add(FtraceFormat.line(e));
            events.add(e);
        });
        RunResult r = m.run();
        return new Out(r.fingerprint(), lines, events, r);
    }

    static void assertSame(Out a, Out b) {
        assertEquals(a.fingerprint(), b.fingerprint());
        assertEquals(a.lines().size(), b.lines().size());
        assertEquals(a.lines(), b.lines());
        assertEquals(a.result().counters(), b.result().counters());
        assertEquals(a.result().tasks(), b.result().tasks());
        assertEquals(a.result().simulatedNs(), b.result().simulatedNs());
        assertEquals(a.result().events(), b.result().events());
    }

    @Test
    void sameSeedSameRunSequentially() throws Exception {
        Out a = run(statistical(42));
        Out b = run(statistical(42));
        assertTrue(a.lines().size() > 2_000, "a run with real content: " + a.lines().size() + " events");
        assertTrue(a.result().counter("async_pf_started") > 100);
        assertTrue(a.result().counter("worker_completed") > 100);
        assertSame(a, b);
        // the fingerprint covers exactly these events, in emission order
        Fingerprint f = new Fingerprint();
        a.events().forEach(f::accept);
        assertEquals(f.hex(), a.fingerprint());
    }

    @Test
    void sameSeedSameRunInParallelThreads() throws Exception {
        Out reference = run(statistical(42));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Out>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                futures.add(pool.submit(() -> run(statistical(42))));
            }
            for (Future<Out> f : futures) {
                assertSame(reference, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void differentSeedDifferentRun() {
        Out a = run(statistical(42));
        Out b = run(statistical(43));
        assertNotEquals(a.fingerprint(), b.fingerprint());
        assertNotEquals(a.lines(), b.lines());
        // same workload shape, so both finish their work
        assertEquals(a.result().tasks().stream().mapToLong(RunResult.TaskResult::ops).sum(),
                b.result().tasks().stream().mapToLong(RunResult.TaskResult::ops).sum());
    }
}
