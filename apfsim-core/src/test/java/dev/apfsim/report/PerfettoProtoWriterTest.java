package dev.apfsim.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceEvent.*;
import dev.apfsim.trace.TraceFilter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The protobuf trace is a valid TracePacket stream with the same tracks, slices, instants and flows as the JSON. */
class PerfettoProtoWriterTest {
    @TempDir
    Path dir;

    /** Writes one run as JSON and as protobuf at once (the same run) and reads both back. */
    private record Both(TraceCheck json, ProtoTraceCheck proto, long jsonBytes, long protoBytes, RunResult result) {
    }

    private Both both(Scenario s, TraceFilter.Selection selection) throws Exception {
        Machine m = new Machine(s);
        Path json = dir.resolve(s.name() + ".json");
        Path proto = dir.resolve(s.name() + ".pftrace");
        var filter = selection.filter(s.vcpus(), tasks(m));
        var filter2 = selection.filter(s.vcpus(), tasks(m));
        PerfettoWriter jw = PerfettoWriter.open(json, m, filter);
        PerfettoProtoWriter pw = PerfettoProtoWriter.open(proto, m, filter2);
        m.attach(jw);
        m.attach(pw);
        RunResult r = m.run();
        jw.close();
        pw.close();
        return new Both(TraceCheck.read(json), ProtoTraceCheck.read(proto), Files.size(json), Files.size(proto), r);
    }

    static List<TraceFilter.TaskRef> tasks(Machine m) {
        return m.guest().tasks().stream().map(t -> new TraceFilter.TaskRef(t.name, t.cpu)).toList();
    }

    @Test
    void sameTracksSlicesInstantsFlowsAndCountersAsTheJson() throws Exception {
        Both b = both(Fixture.scenario(), TraceFilter.Selection.ALL);
        assertSame(b);
        assertTrue(b.proto().slices.size() > 1000, "a real run: " + b.proto().slices.size() + " slices");
        assertTrue(b.proto().flowEnds.size() > 100);
        assertTrue(b.protoBytes() * 2 <= b.jsonBytes(), "at most half the JSON: " + b.protoBytes() + " vs "
                + b.jsonBytes());
    }

    @Test
    void overcommitSsdIsAtMostHalfTheJson() throws Exception {
        Scenario s = BuiltinScenarios.load("overcommit-ssd", List.of()).withDuration(20_000_000L);
        Both b = both(s, TraceFilter.Selection.ALL);
        assertSame(b);
        assertTrue(b.protoBytes() * 2 <= b.jsonBytes(), b.protoBytes() + " vs " + b.jsonBytes());
    }

    @Test
    void aWindowAndAFilterGiveTheSameTraceInBothFormats() throws Exception {
        TraceFilter.Selection sel = TraceFilter.Selection.ALL.withWindow(100_000_000L, 150_000_000L)
                .withTasks(List.of("app-*"));
        Both b = both(Fixture.scenario(), sel);
        assertSame(b);
        assertFalse(b.proto().slices.isEmpty());
        for (ProtoTraceCheck.Slice s : b.proto().slices) {
            assertTrue(s.startNs() >= 100_000_000L && s.endNs() <= 150_000_000L, "inside the window: " + s);
        }
        assertFalse(b.proto().threadNames.containsValue("task cpu (cpu 1)"), "filtered-out task has no track");
    }

    /** Ctrl-C: the CLI's shutdown hook closes the writer while the run goes on; the file must stay valid. */
    @Test
    void closingMidRunLeavesAValidTruncatedTrace() throws Exception {
        Machine m = new Machine(Fixture.scenario());
        Path file = dir.resolve("cut.pftrace");
        PerfettoProtoWriter w = PerfettoProtoWriter.open(file, m, TraceFilter.ALL_EVENTS);
        m.attach(w);
        m.setSampler(s -> {
            if (s.timeNs() >= 100_000_000L) {
                w.close();
            }
        }, 30);
        m.run();
        ProtoTraceCheck cut = ProtoTraceCheck.read(file);
        long last = cut.slices.stream().mapToLong(ProtoTraceCheck.Slice::endNs).max().orElseThrow();
        assertTrue(last >= 100_000_000L && last < 120_000_000L, "ends where it was closed: " + last);
        assertTrue(cut.flowEnds.size() > 10);
    }

    @Test
    void everyKindOfEventSurvivesTheEncoding() throws Exception {
        List<TraceEvent> events = List.of(
                new GuestSwitch(100, 0, -1, 0),
                new TryAsyncGetPage(200, 0, 0x5000, 5),
                new NotPresent(200, 0, 0x1000, 0x5000),
                new InjException(210, 0, 14, true, 0),
                new GuestApfWait(300, 0, 0, 0x1000, false),
                new GuestSwitch(300, 0, 0, -1),
                new PageIo(310, -1, 5, false, false),
                new PageIo(900, -1, 5, true, true),
                new Completed(1_000, 0, 0x7f0000005000L, 0x5000, 0, 0),
                new Ready(1_100, 0, 0x1000, 0x5000),
                new Msr(1_150, 0, true, PerfettoWriter.MSR_ACK, 1, false),
                new GuestApfWake(1_200, 0, 0, 0x1000),
                new Violation(1_300, -1, "token-unique", "token 0x1000 reused — twice"),
                new QueueCleared(1_400, 0, 0, "reset"),
                new GuestTaskKilled(1_500, 0, 0, "SIGBUS", 0x5000),
                new UserspaceExit(1_600, 0, 14, "efault"));
        var meta = new PerfettoWriter.Meta("test", 1, List.of("t (cpu 0)"), () -> 2_000L);
        StringWriter text = new StringWriter();
        PerfettoWriter jw = new PerfettoWriter("json", text, meta);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PerfettoProtoWriter pw = new PerfettoProtoWriter("proto", bytes, meta, TraceFilter.ALL_EVENTS);
        events.forEach(jw::accept);
        events.forEach(pw::accept);
        jw.close();
        pw.close();
        Path json = Files.writeString(dir.resolve("all.json"), text.toString());
        Path proto = Files.write(dir.resolve("all.pftrace"), bytes.toByteArray());
        Both b = new Both(TraceCheck.read(json), ProtoTraceCheck.read(proto), 0, 0, null);
        assertSame(b);
        assertEquals("token 0x1000 reused — twice", b.proto().instants.stream()
                .filter(i -> i.name().startsWith("apfsim_violation")).findFirst().orElseThrow().args().get("detail"));
        assertEquals(pw.bytesWritten(), bytes.size(), "bytes counted as written");
    }

    // ---- comparing -------------------------------------------------------------------------------------

    private static void assertSame(Both b) {
        TraceCheck j = b.json();
        ProtoTraceCheck p = b.proto();
        assertEquals(j.processNames, p.processNames, "processes");
        Map<ProtoTraceCheck.Thread, String> threads = new HashMap<>();
        j.threadNames.forEach((k, v) -> threads.put(new ProtoTraceCheck.Thread(k.get(0), k.get(1)), v));
        assertEquals(threads, p.threadNames, "threads");
        List<ProtoTraceCheck.Slice> js = new ArrayList<>();
        for (TraceCheck.Slice s : j.slices) {
            js.add(new ProtoTraceCheck.Slice(new ProtoTraceCheck.Thread(s.pid(), s.tid()), s.name(), null, ns(s.start()),
                    ns(s.end()), args(s.args())));
        }
        List<ProtoTraceCheck.Slice> ps = p.slices.stream().map(s -> new ProtoTraceCheck.Slice(s.track(), s.name(),
                null, s.startNs(), s.endNs(), s.args())).toList();
        assertEquals(js, ps, "slices");
        List<ProtoTraceCheck.Instant> ji = new ArrayList<>();
        for (JsonNode i : j.instants) {
            boolean global = "g".equals(i.path("s").asText());
            ji.add(new ProtoTraceCheck.Instant(new ProtoTraceCheck.Thread(i.get("pid").asInt(),
                    global ? -1 : i.get("tid").asInt()), i.get("name").asText(), ns(i.get("ts").asDouble()),
                    args(i.get("args"))));
        }
        assertEquals(ji, p.instants, "instants");
        assertEquals(flows(j.flowStarts), p.flowStarts.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                Map.Entry::getKey, e -> List.of(e.getValue().track().tid(), e.getValue().ts()))), "flow starts");
        assertEquals(flows(j.flowEnds), p.flowEnds.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                Map.Entry::getKey, e -> List.of(e.getValue().track().tid(), e.getValue().ts()))), "flow ends");
        List<ProtoTraceCheck.Counter> jc = new ArrayList<>();
        for (JsonNode c : j.counters) {
            var f = c.get("args").fields().next();
            jc.add(new ProtoTraceCheck.Counter(c.get("name").asText() + " " + f.getKey(), ns(c.get("ts").asDouble()),
                    f.getValue().asLong()));
        }
        assertEquals(jc, p.counters, "counters");
    }

    private static Map<Long, List<Long>> flows(Map<Long, JsonNode> m) {
        Map<Long, List<Long>> out = new HashMap<>();
        m.forEach((id, e) -> out.put(id, List.of(e.get("tid").asLong(), ns(e.get("ts").asDouble()))));
        return out;
    }

    private static long ns(double us) {
        return Math.round(us * 1000);
    }

    private static Map<String, String> args(JsonNode a) {
        if (a == null) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        a.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().asText()));
        return out;
    }
}
