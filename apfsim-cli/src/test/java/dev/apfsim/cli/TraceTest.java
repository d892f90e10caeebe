package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TraceTest {
    static final Pattern FTRACE = Pattern.compile("^\\S.*-\\d+ \\[\\d{3}\\] \\d+\\.\\d{6}: \\w+: ");

    @TempDir
    Path dir;

    @Test
    void traceFileHasOneFtraceLinePerEvent() throws Exception {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path trace = dir.resolve("trace.txt");
        Cli.Result r = Cli.run("run", yaml.toString(), "--trace", trace.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        List<String> lines = Files.readAllLines(trace);
        assertTrue(lines.size() > 10, "lines: " + lines.size());
        for (String l : lines) {
            assertTrue(FTRACE.matcher(l).find(), "not an ftrace line: " + l);
        }
        JsonNode j = r.json();
        assertEquals(j.get("trace_events").asLong(), lines.size(), "every event, nothing else");
        assertTrue(lines.stream().anyMatch(l -> l.contains(": kvm_async_pf_not_present: token ")), "not-present");
        assertTrue(lines.stream().anyMatch(l -> l.contains(": kvm_async_pf_ready: token ")), "ready");
        assertTrue(Files.readString(trace).endsWith("\n"));
    }

    /**
     * The trace file is in simulated-time order; the fingerprint hashes the same events in emission order (the inline
     * guest emits ahead of the clock), as binary records.
     */
    @Test
    void traceIsTimeOrderedAndTheFingerprintHashesTheEmissionOrder() throws Exception {
        Path trace = dir.resolve("trace.txt");
        JsonNode j = Cli.run("run", "overcommit-ssd", "--duration", "20ms", "--trace", trace.toString(), "--json")
                .json();
        List<String> file = Files.readAllLines(trace);
        long last = -1;
        for (String l : file) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\] +(\\d+)\\.(\\d{6}): ").matcher(l);
            assertTrue(m.find(), l);
            long us = Long.parseLong(m.group(1)) * 1_000_000 + Long.parseLong(m.group(2));
            assertTrue(us >= last, "goes back in time: " + l);
            last = us;
        }
        // the same run in-process, in emission order
        dev.apfsim.sim.Machine machine = new dev.apfsim.sim.Machine(
                dev.apfsim.scenario.Scenarios.resolve("overcommit-ssd").withDuration(20_000_000));
        List<String> emitted = new java.util.ArrayList<>();
        dev.apfsim.trace.Fingerprint inEmissionOrder = new dev.apfsim.trace.Fingerprint();
        // each line with the host CPU its vCPU thread ran on when it was emitted (the file's CPU column)
        machine.attach((dev.apfsim.trace.TraceEvent e) -> emitted.add(dev.apfsim.trace.FtraceFormat.line(e,
                machine.hostCpuOf(e.vcpu()))));
        machine.attach(inEmissionOrder);
        machine.run();
        assertTrue(!emitted.equals(file), "this run does emit ahead of the clock");
        assertEquals(emitted.stream().sorted().toList(), file.stream().sorted().toList(), "the same lines");
        assertEquals(j.get("fingerprint").asText(), inEmissionOrder.hex());
    }

    /** SIGTERM/Ctrl-C mid-run: the shutdown hook leaves a trace of whole lines. */
    @Test
    void interruptedRunLeavesWholeLines() throws Exception {
        Path trace = dir.resolve("trace.txt");
        Path busy = Cli.write(dir, "busy.yaml", Cli.BUSY);
        Cli.interruptWhenGrown(dir, trace, 200_000, 4_000_000_000L, "run", busy.toString(), "--duration", "60min",
                "--trace", trace.toString(), "--quiet");
        String text = Files.readString(trace);
        assertTrue(text.length() > 200_000, "size " + text.length());
        assertTrue(text.endsWith("\n"), "last line cut: ..." + text.substring(text.length() - 80));
        text.lines().forEach(l -> assertTrue(FTRACE.matcher(l).find(), "not an ftrace line: " + l));
    }
}
