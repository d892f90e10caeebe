package dev.apfsim.bench;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** JMH: the bare event loop and a short model run, in the same units (operations per second). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class EngineBenchmarks {
    private Scenario scenario;

    @Setup
    public void setup() {
        scenario = BuiltinScenarios.load("overcommit-ssd", List.of()).withDuration(100_000_000L);
    }

    /** 100,000 events of the bare loop per operation. */
    @Benchmark
    public long bareLoop100k() {
        return new BareLoop(1, 1024).run(100_000);
    }

    /** 100 simulated ms of overcommit-ssd per operation. */
    @Benchmark
    public long overcommitSsd100ms() {
        return new Machine(scenario).run().events();
    }
}
