package dev.apfsim.report;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A short post-copy-like run with everything the outputs draw: async PFs, page-ready, task switches, sync faults. */
final class Fixture {
    private Fixture() {
    }

    static final String YAML = """
            name: report-fixture
            description: two vCPUs; pages arrive on demand over 10 GbE; some accesses with interrupts off
            duration: 300ms
            vm: {vcpus: 2, memory: 256MiB}
            host:
              remote: {latency: postcopy-10gbe, queue_depth: 64}
            memory:
              regions:
                - {start: 0, size: 16MiB, state: resident}
                - {start: 16MiB, size: 240MiB, state: remote}
            workload:
              tasks:
                - type: statistical
                  name: app
                  cpu: 0
                  count: 2
                  compute: {type: exponential, mean: 20us}
                  working_set: {start: 0, size: 128MiB}
                  pattern: {zipfian: 0.8}
                  write_fraction: 0.2
                  irq_off_fraction: 0.05
                - type: statistical
                  name: cpu
                  cpu: 1
                  count: 1
                  compute: {type: constant, value: 100us}
                  touches_per_op: 0
            """;

    static Scenario scenario(String... overrides) {
        return ScenarioLoader.load("report-fixture.yaml", YAML, List.of(overrides));
    }

    /** A finished run: its result, the report data and the files written (null when not asked for). */
    record Run(RunResult result, ReportData data, Path trace, Path events) {
    }

    /** Runs the fixture with the report data, and a Perfetto trace and/or an event log when the paths are set. */
    static Run run(Scenario s, Path trace, Path events) {
        Machine m = new Machine(s);
        List<TraceSink> sinks = new ArrayList<>();
        try {
            if (trace != null) {
                sinks.add(PerfettoWriter.open(trace, m));
            }
            if (events != null) {
                sinks.add(new NdjsonWriter(events));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        sinks.forEach(m::attach);
        ReportData d = ReportData.attachTo(m);
        RunResult r = m.run();
        sinks.forEach(TraceSink::close);
        return new Run(r, d, trace, events);
    }
}
