package dev.apfsim.bench;

import dev.apfsim.engine.EventQueue;
import dev.apfsim.engine.Choices;
import dev.apfsim.report.PerfettoProtoWriter;
import dev.apfsim.report.PerfettoWriter;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.Fingerprint;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceFilter;
import dev.apfsim.trace.TraceSink;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.OutputStream;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * JMH, per event: what each consumer of the event stream costs, over the first {@value #EVENTS} events of
 * overcommit-ssd recorded once (canonical and timeline events, as a run with a Perfetto trace produces them),
 * and the engine's queue per event. Writers write to a discarding stream: formatting and encoding, not the disk.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TraceBenchmarks {
    static final int EVENTS = 200_000;
    private TraceEvent[] all;
    private TraceEvent[] canonical;
    private final StringBuilder line = new StringBuilder(256);
    private Machine machine;

    @Setup
    public void record() {
        List<TraceEvent> events = new ArrayList<>();
        List<TraceEvent> canon = new ArrayList<>();
        machine = new Machine(BuiltinScenarios.load("overcommit-ssd", List.of()).withDuration(500_000_000L));
        machine.attach(TraceSink.everything(e -> {
            if (events.size() < EVENTS) {
                events.add(e);
            }
            if (!e.timeline() && canon.size() < EVENTS) {
                canon.add(e);
            }
        }));
        machine.run();
        all = events.toArray(TraceEvent[]::new);
        canonical = canon.toArray(TraceEvent[]::new);
        if (canonical.length < EVENTS || all.length < EVENTS) {
            throw new IllegalStateException("too few events recorded: " + canonical.length);
        }
    }

    /** The fingerprint: each event's binary record, hashed with SHA-256. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public String fingerprint() {
        Fingerprint f = new Fingerprint();
        for (TraceEvent e : canonical) {
            f.accept(e);
        }
        return f.hex();
    }

    /** An event's ftrace line alone: what the fingerprint cost per event when it hashed the text (issue 13). */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public int ftraceLine() {
        int n = 0;
        for (TraceEvent e : canonical) {
            line.setLength(0);
            FtraceFormat.appendLine(line, e);
            n += line.length();
        }
        return n;
    }

    /** The Perfetto JSON writer, timeline events included. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public void perfettoJson() {
        PerfettoWriter w = new PerfettoWriter("bench", Writer.nullWriter(), PerfettoWriter.meta(machine));
        for (TraceEvent e : all) {
            w.accept(e);
        }
        w.close();
    }

    /** The Perfetto protobuf writer, timeline events included. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public void perfettoProto() {
        PerfettoProtoWriter w = new PerfettoProtoWriter("bench", OutputStream.nullOutputStream(),
                PerfettoWriter.meta(machine), TraceFilter.ALL_EVENTS);
        for (TraceEvent e : all) {
            w.accept(e);
        }
        w.close();
    }

    /** The engine's heap: one push and one pop per event, 1,024 pending. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long eventQueue() {
        EventQueue q = new EventQueue();
        long t = 0;
        for (int i = 0; i < 1024; i++) {
            q.push(i * 37L % 10_000, null, 0, i);
        }
        for (int i = 0; i < EVENTS; i++) {
            q.pop(Choices.DEFAULT);
            t = q.poppedTime();
            q.push(t + 1 + (i * 7919L) % 10_000, null, 0, i);
        }
        return t;
    }
}
