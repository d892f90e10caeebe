package dev.apfsim.trace;

import dev.apfsim.report.NdjsonWriter;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ftrace text and the NDJSON event log are in simulated-time order (then emission order), although the inline
 * guest emits events ahead of the engine clock; the canonical stream and its fingerprint stay in emission order.
 */
class TimeOrderTest {
    private static final Pattern NS = Pattern.compile("^\\{\"t_ns\":(\\d+),");

    @Test
    void everyBuiltinWritesTimeOrderedLinesAndKeepsItsFingerprint() {
        long reordered = 0;
        for (String name : BuiltinScenarios.names()) {
            List<List<String>> variants = new ArrayList<>(BuiltinScenarios.variants(name).values());
            if (variants.isEmpty()) {
                variants.add(List.of());
            }
            for (List<String> v : variants) {
                Scenario s = BuiltinScenarios.load(name, v);
                s = s.withDuration(Math.min(s.durationNs(), 100_000_000L));
                RunResult plain = new Machine(s).run();

                Machine m = new Machine(s);
                StringWriter text = new StringWriter();
                StringWriter ndjson = new StringWriter();
                FtraceWriter ftrace = new FtraceWriter(Path.of("t.txt"), text);
                NdjsonWriter events = new NdjsonWriter("e.ndjson", ndjson);
                ftrace.orderBy(m.simulator()::now);
                events.orderBy(m.simulator()::now);
                List<TraceEvent> emitted = new ArrayList<>();
                java.util.IdentityHashMap<TraceEvent, Integer> hostCpu = new java.util.IdentityHashMap<>();
                m.attach(e -> {
                    emitted.add(e);
                    hostCpu.put(e, m.hostCpuOf(e.vcpu())); // the CPU column: where the vCPU thread runs now
                });
                m.attach(ftrace);
                m.attach(events);
                RunResult r = m.run();
                ftrace.close();
                events.close();

                String label = name + " " + v;
                assertEquals(plain.fingerprint(), r.fingerprint(), "writers never change the fingerprint: " + label);
                List<String> lines = text.toString().lines().toList();
                List<String> expected = emitted.stream().sorted(java.util.Comparator.comparingLong(TraceEvent::time))
                        .map(e -> FtraceFormat.line(e, hostCpu.get(e))).toList();
                assertEquals(expected, lines, "ftrace text = the events by time, then emission order: " + label);
                long last = -1;
                for (String l : ndjson.toString().lines().toList()) {
                    Matcher mt = NS.matcher(l);
                    assertTrue(mt.find(), l);
                    long t = Long.parseLong(mt.group(1));
                    assertTrue(t >= last, label + ": NDJSON goes back from " + last + " to " + t);
                    last = t;
                }
                List<String> inEmission = emitted.stream().map(FtraceFormat::line).toList();
                if (!inEmission.equals(lines)) {
                    reordered++;
                }
            }
        }
        assertTrue(reordered > 0, "some scenario emits ahead of the clock, so the buffer is exercised");
    }
}
