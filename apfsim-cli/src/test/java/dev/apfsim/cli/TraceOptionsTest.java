package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apfsim.trace.StreamingSink;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --trace FILE.pftrace}, {@code --trace-window}, {@code --trace-filter}, the size warning, the report link. */
class TraceOptionsTest {
    @TempDir
    Path dir;

    @Test
    void theProtobufTraceIsAtMostHalfTheJsonOfTheSameRun() throws Exception {
        Path json = dir.resolve("r.json");
        Path proto = dir.resolve("r.pftrace");
        Path other = dir.resolve("r.perfetto-trace");
        Cli.Result a = Cli.run("run", "overcommit-ssd", "--duration", "50ms", "--trace", json.toString(), "--json");
        Cli.Result b = Cli.run("run", "overcommit-ssd", "--duration", "50ms", "--trace", proto.toString(), "--json");
        Cli.Result c = Cli.run("run", "overcommit-ssd", "--duration", "50ms", "--trace", other.toString(), "-q");
        assertEquals(0, a.status(), a.err());
        assertEquals(0, b.status(), b.err());
        assertEquals(0, c.status(), c.err());
        assertEquals(a.json().get("fingerprint"), b.json().get("fingerprint"), "the same run");
        assertTrue(Files.size(proto) * 2 <= Files.size(json), Files.size(proto) + " vs " + Files.size(json));
        assertEquals(Files.size(proto), Files.size(other), "both extensions mean protobuf");
        byte[] head = Files.readAllBytes(proto);
        assertEquals(0x0a, head[0], "a Trace: field 1 (packet), length-delimited");
    }

    @Test
    void windowAndFilterShrinkTheOutputsAndNeverTheRun() throws Exception {
        Path busy = Cli.write(dir, "busy.yaml", Cli.BUSY);
        Path all = dir.resolve("all.ndjson");
        Path some = dir.resolve("some.ndjson");
        Path text = dir.resolve("some.txt");
        Cli.Result a = Cli.run("run", busy.toString(), "--events", all.toString(), "--json");
        Cli.Result b = Cli.run("run", busy.toString(), "--events", some.toString(), "--trace", text.toString(),
                "--trace-window", "10ms..20ms", "--trace-filter", "task=mem", "--json");
        assertEquals(0, b.status(), b.err());
        assertEquals(a.json().get("fingerprint"), b.json().get("fingerprint"), "fingerprint unchanged");
        assertEquals(a.json().get("counters"), b.json().get("counters"), "results unchanged");
        List<String> lines = Files.readAllLines(some);
        assertFalse(lines.isEmpty());
        assertTrue(lines.size() < Files.readAllLines(all).size() / 3, lines.size() + " lines");
        ObjectMapper m = new ObjectMapper();
        for (String l : lines) {
            JsonNode e = m.readTree(l);
            long t = e.get("t_ns").asLong();
            assertTrue(t >= 10_000_000 && t < 20_000_000, "in the window: " + l);
            assertTrue(!e.has("task") || e.get("task").asInt() == 1, "only task mem (id 1): " + l);
        }
        List<String> ftrace = Files.readAllLines(text);
        assertFalse(ftrace.isEmpty(), "the text trace is filtered too");
        assertTrue(ftrace.size() <= lines.size(), "no timeline events in the text trace");
    }

    @Test
    void badSelectionsAreOneLineErrors() {
        String[][] cases = {
                {"--trace-filter", "cpu=1", "expected vcpu=N"},
                {"--trace-filter", "vcpu=3", "no vCPU 3 (the scenario has 1"},
                {"--trace-filter", "task=db*", "task=db* matches no task (tasks: reader)"},
                {"--trace-window", "2s..1s", "FROM before TO"},
                {"--trace-window", "1s", "expected FROM..TO"},
                {"--trace-window", "60ms..", "--trace-window starts at 60ms, after the run ends (50ms)"},
        };
        Path tiny = Cli.write(dir, "tiny.yaml", Cli.TINY);
        for (String[] c : cases) {
            Cli.Result r = Cli.run("run", tiny.toString(), "--trace", dir.resolve("t.json").toString(), c[0], c[1]);
            assertEquals(2, r.status(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.err().contains(c[2]), r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
        Cli.Result r = Cli.run("run", tiny.toString(), "--trace-window", "1ms..2ms");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("need --trace FILE or --events FILE"), r.err());
    }

    @Test
    void theReportLinksTheTraceItWasWrittenWith() throws Exception {
        Path tiny = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path report = dir.resolve("r.html");
        Cli.Result r = Cli.run("run", tiny.toString(), "--report", report.toString(), "--trace",
                dir.resolve("r.pftrace").toString(), "--events", dir.resolve("r.ndjson").toString(), "-q");
        assertEquals(0, r.status(), r.err());
        String html = Files.readString(report);
        assertTrue(html.contains("<a href=\"r.pftrace\">"), "relative link to the trace");
        assertTrue(html.contains("<a href=\"r.ndjson\">"), "and to the event log");
    }

    /** A text sink that writes {@code n} characters per event. */
    private static final class Fake extends StreamingSink {
        final int n;

        Fake(int n) {
            super("trace file", "fake", new StringWriter());
            this.n = n;
        }

        @Override
        protected void handle(TraceEvent e) throws java.io.IOException {
            write("x".repeat(n));
        }

        @Override
        protected void finish() {
        }
    }

    @Test
    void warnsOnceWhenATraceHeadsPastWhatThePerfettoUiOpens() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        TraceSizeWatch w = new TraceSizeWatch(0, Long.MAX_VALUE, 1_000_000_000L, err);
        Fake big = new Fake(1 << 20);
        Fake small = new Fake(1 << 10);
        w.watch(Path.of("big.json"), big, false);
        w.watch(Path.of("small.pftrace"), small, true);
        for (int i = 0; i < 30; i++) {
            TraceEvent e = new TraceEvent.WakeupAllQueued(i, 0);
            big.accept(e);
            small.accept(e);
        }
        w.check(10_000_000L); // 1% of the run: too early to tell
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
        w.check(50_000_000L); // 30 MiB in 5%: 600 MiB expected
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
        w.check(25_000_000L); // 30 MiB in 2.5%: 1.2 GiB expected
        w.check(26_000_000L);
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, out.lines().count(), "one line, once: " + out);
        assertTrue(out.startsWith("apfsim: warning: trace big.json will be about 1.2 GiB"), out);
        assertTrue(out.contains("--trace-window") && out.contains("--trace-filter") && out.contains(".pftrace"), out);
    }

    @Test
    void aWindowedTraceIsEstimatedOverItsWindowOnly() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TraceSizeWatch w = new TraceSizeWatch(500_000_000L, 600_000_000L, 10_000_000_000L,
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        Fake f = new Fake(1 << 20);
        w.watch(Path.of("w.pftrace"), f, true);
        for (int i = 0; i < 100; i++) {
            f.accept(new TraceEvent.WakeupAllQueued(i, 0));
        }
        w.check(400_000_000L); // before the window: nothing to estimate from
        w.check(600_000_000L); // 100 MiB, the whole window: that is the size
        w.check(5_000_000_000L);
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
}
