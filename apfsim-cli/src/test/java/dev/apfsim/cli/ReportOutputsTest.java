package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --trace} (by extension or {@code --trace-format}), {@code --events} and {@code --report}. */
class ReportOutputsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void runWritesPerfettoTraceEventLogAndReport() throws Exception {
        Path trace = dir.resolve("r.json");
        Path events = dir.resolve("r.ndjson");
        Path report = dir.resolve("r.html");
        Cli.Result r = Cli.run("run", "example-minimal", "--report", report.toString(), "--trace", trace.toString(),
                "--events", events.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode result = r.json();

        JsonNode t = JSON.readTree(trace.toFile());
        JsonNode evs = t.get("traceEvents");
        assertTrue(evs.isArray() && evs.size() > 20, "trace events");
        Map<String, Integer> phases = new HashMap<>();
        Map<String, Integer> balance = new HashMap<>();
        for (JsonNode e : evs) {
            String ph = e.get("ph").asText();
            phases.merge(ph, 1, Integer::sum);
            String track = e.path("pid").asText() + "/" + e.path("tid").asText();
            if (ph.equals("B")) {
                balance.merge(track, 1, Integer::sum);
            } else if (ph.equals("E")) {
                balance.merge(track, -1, Integer::sum);
            }
        }
        balance.forEach((track, n) -> assertEquals(0, n, "B/E balanced on " + track));
        // three async faults, three page-ready arrows
        assertEquals(3, phases.get("s"));
        assertEquals(3, phases.get("f"));
        assertTrue(evs.toString().contains("\"vCPU 0\"") && evs.toString().contains("\"task reader (cpu 0)\""));

        List<String> lines = Files.readAllLines(events);
        long timeline = lines.stream().filter(l -> l.contains("\"name\":\"apfsim_vcpu_state\"")
                || l.contains("\"name\":\"apfsim_page_io\"")).count();
        assertTrue(timeline > 0, "the event log has the timeline events too");
        assertEquals(result.get("trace_events").asLong(), lines.size() - timeline, "one line per canonical event");
        for (String l : lines) {
            JsonNode j = JSON.readTree(l);
            assertTrue(j.has("t_ns") && j.has("name") && j.has("vcpu") && j.has("actor"), l);
        }

        String html = Files.readString(report);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.endsWith("</html>\n"));
        assertTrue(html.contains("example-minimal") && html.contains("id=\"cdf-fault-to-ready\"")
                && html.contains("id=\"time-split\"") && html.contains("id=\"throughput-0\""), "charts");
        assertFalse(html.contains("<script"));
    }

    @Test
    void traceFormatOptionOverridesTheExtension() throws Exception {
        Path text = dir.resolve("t.json");
        assertEquals(0, Cli.run("run", "example-minimal", "--trace", text.toString(), "--trace-format", "ftrace",
                "--quiet").status());
        assertTrue(TraceTest.FTRACE.matcher(Files.readAllLines(text).getFirst()).find(), "ftrace text");

        Path json = dir.resolve("t.trace");
        assertEquals(0, Cli.run("run", "example-minimal", "--trace", json.toString(), "--trace-format", "PERFETTO",
                "--quiet").status());
        assertTrue(JSON.readTree(json.toFile()).get("traceEvents").isArray(), "perfetto JSON");

        Path plain = dir.resolve("t.txt");
        assertEquals(0, Cli.run("run", "example-minimal", "--trace", plain.toString(), "--quiet").status());
        assertTrue(TraceTest.FTRACE.matcher(Files.readAllLines(plain).getFirst()).find(), "text by default");
    }

    @Test
    void badOutputOptionsAreUsageErrors() {
        Cli.Result r = Cli.run("run", "example-minimal", "--trace-format", "perfetto");
        assertEquals(Main.EXIT_USAGE, r.status());
        assertTrue(r.err().contains("--trace-format needs --trace"), r.err());

        r = Cli.run("run", "example-minimal", "--report", dir.resolve("no/such/dir/r.html").toString());
        assertEquals(Main.EXIT_USAGE, r.status());
        assertTrue(r.err().contains("cannot create report") && r.err().contains("no such directory"), r.err());

        r = Cli.run("run", "example-minimal", "--events", dir.resolve("no/such/dir/e.ndjson").toString());
        assertEquals(Main.EXIT_USAGE, r.status());
        assertTrue(r.err().contains("cannot create event log"), r.err());

        r = Cli.run("run", "example-minimal", "--trace", "t.json", "--trace-format", "svg");
        assertEquals(Main.EXIT_USAGE, r.status());
    }

    @Test
    void compareWritesOneReportWithEveryVariant() throws Exception {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path report = dir.resolve("c.html");
        Cli.Result r = Cli.run("compare", yaml.toString(), "--apf", "on,sync", "--report", report.toString());
        assertEquals(0, r.status(), r.err());
        String html = Files.readString(report);
        assertTrue(html.contains("apfsim compare: tiny"));
        assertTrue(html.contains("Differences against apf=on"));
        assertTrue(html.contains(">apf=sync<") && html.contains("id=\"rates-1\"") && html.contains(
                "id=\"throughput-1\""), "both variants side by side");
    }

    /**
     * Ctrl-C (SIGTERM here) mid-run: the JSON trace is closed properly, the event log ends in a whole line and the
     * report covers the run up to the interruption.
     */
    @Test
    void interruptedRunLeavesValidTruncatedFiles() throws Exception {
        Path trace = dir.resolve("cut.json");
        Path events = dir.resolve("cut.ndjson");
        Cli.interruptWhenGrown(dir, trace, 300_000, 6_000_000_000L, "run", "kvm-forum-2010", "--duration", "60min",
                "--trace", trace.toString(), "--events", events.toString(), "--report",
                dir.resolve("partial.html").toString(), "--quiet");
        JsonNode t = JSON.readTree(trace.toFile());
        assertTrue(t.get("traceEvents").size() > 1000, "truncated but valid");
        int depth = 0;
        for (JsonNode e : t.get("traceEvents")) {
            depth += switch (e.get("ph").asText()) {
                case "B" -> 1;
                case "E" -> -1;
                default -> 0;
            };
        }
        assertEquals(0, depth, "every open slice was ended");
        String log = Files.readString(events);
        assertTrue(log.endsWith("\n"), "whole lines");
        for (String l : log.lines().toList()) {
            JSON.readTree(l);
        }
        // the run stops cleanly on the signal, so the report of the run so far is written too
        assertTrue(Files.readString(dir.resolve("partial.html")).contains("interrupted"), "report of the partial run");
    }
}
