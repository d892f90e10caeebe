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

    @Test
    void fingerprintIsSha256OfTheTraceFile() throws Exception {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path trace = dir.resolve("trace.txt");
        JsonNode j = Cli.run("run", yaml.toString(), "--trace", trace.toString(), "--json").json();
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(trace));
        assertEquals(j.get("fingerprint").asText(), java.util.HexFormat.of().formatHex(digest));
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
