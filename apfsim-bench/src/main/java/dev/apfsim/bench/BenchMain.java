package dev.apfsim.bench;

import dev.apfsim.explore.Explorer;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;

import java.util.List;

/**
 * End-to-end speed figures, measured in one JVM so they can be compared: the bare event loop, the model on
 * {@code overcommit-ssd}, and their ratio. Run: {@code java -jar apfsim-bench/target/apfsim-bench.jar [jmh args]}
 * runs JMH instead when given arguments.
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        String scenarioName = System.getProperty("scenario", "overcommit-ssd");
        long duration = Long.getLong("durationNs", 2_000_000_000L);
        int rounds = Integer.getInteger("rounds", 3);
        Scenario s = BuiltinScenarios.load(scenarioName, List.of()).withDuration(duration);
        // warm-up both paths so the JIT has compiled them
        new BareLoop(1, 1024).run(2_000_000);
        new Machine(s.withDuration(duration / 4)).run();

        double bestBare = 0;
        double bestModel = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            long n = new BareLoop(r + 1, 1024).run(10_000_000);
            double bare = n / ((System.nanoTime() - t0) / 1e9);
            RunResult res = new Machine(s.withSeed(r + 1)).run();
            double model = res.eventsPerWallSecond();
            System.out.printf("round %d: bare %.2fM events/s, model %.2fM events/s (%d events, %.1f ms wall, "
                            + "%.2f simulated s)%n", r + 1, bare / 1e6, model / 1e6, res.events(), res.wallNs() / 1e6,
                    res.simulatedNs() / 1e9);
            bestBare = Math.max(bestBare, bare);
            bestModel = Math.max(bestModel, model);
        }
        System.out.printf("%s: model %.2fM events/s, bare loop %.2fM events/s, ratio %.2f%n", scenarioName,
                bestModel / 1e6, bestBare / 1e6, bestModel / bestBare);
        checkThroughput();
    }

    /** {@code apfsim check} throughput on seed-001-page-ready (fixed: no violation, so every run is explored). */
    private static void checkThroughput() throws Exception {
        int runs = Integer.getInteger("checkRuns", 2000);
        int cores = Runtime.getRuntime().availableProcessors();
        Scenario s = BuiltinScenarios.load("seed-001-page-ready", List.of());
        Explorer.explore(s, new Explorer.Options(runs / 4, 99, cores, 0), n -> { }); // warm-up
        Explorer.Report one = Explorer.explore(s, new Explorer.Options(runs, 1, 1, 0), n -> { });
        Explorer.Report all = Explorer.explore(s, new Explorer.Options(runs, 1, cores, 0), n -> { });
        System.out.printf("check seed-001-page-ready: %.0f runs/s on %d threads, %.0f runs/s on 1 thread, "
                + "ratio %.2f%n", all.runsPerSecond(), cores, one.runsPerSecond(),
                all.runsPerSecond() / one.runsPerSecond());
    }
}
