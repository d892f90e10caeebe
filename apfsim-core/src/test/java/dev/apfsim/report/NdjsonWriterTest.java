package dev.apfsim.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.FtraceWriter;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NdjsonWriterTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void oneObjectPerEventWithTimeNameVcpuActorThenTheRecordFields() {
        assertEquals("{\"t_ns\":6200,\"name\":\"kvm_msr\",\"vcpu\":1,\"actor\":\"vcpu_thread\",\"write\":true,"
                        + "\"msr\":1263947015,\"data\":1,\"gp\":false}",
                NdjsonWriter.line(new TraceEvent.Msr(6200, 1, true, 0x4b564d07, 1, false)));
        assertEquals("{\"t_ns\":5,\"name\":\"guest_panic\",\"vcpu\":0,\"actor\":\"guest\",\"message\":"
                        + "\"Host injected \\\"async\\\" #PF\\n\"}",
                NdjsonWriter.line(new TraceEvent.GuestPanic(5, 0, "Host injected \"async\" #PF\n")));
        assertEquals("{\"t_ns\":1,\"name\":\"apfsim_wakeup_all_queued\",\"vcpu\":0,\"actor\":\"vcpu_thread\"}",
                NdjsonWriter.line(new TraceEvent.WakeupAllQueued(1, 0)));
    }

    /** The log and the ftrace text are the same stream: line for line, same names, times and vCPUs. */
    @Test
    void aRunLogsEveryEventInOrder() throws Exception {
        Machine m = new Machine(Fixture.scenario("duration=100ms"));
        Path log = dir.resolve("run.ndjson");
        Path txt = dir.resolve("run.txt");
        NdjsonWriter w = new NdjsonWriter(log);
        FtraceWriter f = new FtraceWriter(txt);
        m.attach(w);
        m.attach(f);
        var r = m.run();
        w.close();
        f.close();
        List<String> lines = Files.readAllLines(log);
        List<String> ftrace = Files.readAllLines(txt);
        // the log has every event; the ftrace text and trace_events count only the canonical (non-timeline) ones
        long timeline = lines.stream().filter(l -> l.contains("\"name\":\"apfsim_vcpu_state\"")
                || l.contains("\"name\":\"apfsim_page_io\"")).count();
        assertTrue(timeline > 0, "timeline events are logged");
        assertEquals(r.traceEvents(), lines.size() - timeline, "one line per event");
        assertEquals(ftrace.size(), lines.size() - timeline);
        long prev = -1;
        Map<String, Integer> seen = new HashMap<>();
        int k = 0; // the ftrace line of the next canonical event
        for (int i = 0; i < lines.size(); i++) {
            JsonNode j = JSON.readTree(lines.get(i));
            List<String> keys = new ArrayList<>();
            j.fieldNames().forEachRemaining(keys::add);
            assertEquals(List.of("t_ns", "name", "vcpu", "actor"), keys.subList(0, 4), lines.get(i));
            String name = j.get("name").asText();
            long t = j.get("t_ns").asLong();
            if (!name.equals("apfsim_vcpu_state") && !name.equals("apfsim_page_io")) {
                String ft = ftrace.get(k++);
                assertTrue(ft.contains(": " + name + ": "), ft + " vs " + lines.get(i));
                assertTrue(ft.contains("[" + String.format("%03d", Math.max(0, j.get("vcpu").asInt())) + "]"));
                assertEquals(String.format("%d.%06d", t / 1_000_000_000, t / 1000 % 1_000_000),
                        ft.replaceAll("^.*\\] (\\d+\\.\\d+): .*$", "$1"));
            }
            prev = Math.max(prev, t);
            seen.merge(name, 1, Integer::sum);
            // the fields are the record's, in order
            Class<? extends TraceEvent> type = typeOf(name);
            List<String> fields = EventFields.of(type).stream().map(EventFields.Field::name).toList();
            assertEquals(fields, keys.subList(4, keys.size()), lines.get(i));
        }
        assertTrue(seen.keySet().containsAll(List.of("kvm_async_pf_not_present", "kvm_async_pf_ready",
                "guest_apf_wait", "guest_sched_switch", "apfsim_sync_fault")), seen.toString());
        JsonNode np = lines.stream().map(NdjsonWriterTest::parse)
                .filter(j -> j.get("name").asText().equals("kvm_async_pf_not_present")).findFirst().orElseThrow();
        assertTrue(np.get("token").isIntegralNumber() && np.get("gva").isIntegralNumber());
    }

    /** Ctrl-C: closed from the shutdown hook mid-run, the file ends with a whole line. */
    @Test
    void closingMidRunLeavesWholeLines() throws Exception {
        Machine m = new Machine(Fixture.scenario("duration=100ms"));
        Path log = dir.resolve("cut.ndjson");
        NdjsonWriter w = new NdjsonWriter(log);
        m.attach(w);
        m.setSampler(s -> {
            if (s.timeNs() >= 50_000_000L) {
                w.close();
            }
        }, 10);
        m.run();
        String text = Files.readString(log);
        assertTrue(text.endsWith("\n"));
        List<String> lines = text.lines().toList();
        assertFalse(lines.isEmpty());
        assertEquals(w.lines(), lines.size());
        for (String l : lines) {
            assertTrue(parse(l).get("t_ns").asLong() <= 60_000_000L, l);
        }
    }

    @Test
    void writesThroughAnyWriter() {
        StringWriter out = new StringWriter();
        NdjsonWriter w = new NdjsonWriter("test", out);
        w.accept(new TraceEvent.Ready(10, 0, 0xffffffffL, 0));
        w.accept(new TraceEvent.VcpuState(20, 1, "hlt"));
        w.close();
        w.accept(new TraceEvent.VcpuState(30, 1, "hlt")); // after close: dropped
        assertEquals("""
                {"t_ns":10,"name":"kvm_async_pf_ready","vcpu":0,"actor":"vcpu_thread","token":4294967295,"gva":0}
                {"t_ns":20,"name":"apfsim_vcpu_state","vcpu":1,"actor":"vcpu_thread","state":"hlt"}
                """, out.toString());
    }

    /** docs/events.md documents every event and every field, with the right JSON type and actor. */
    @Test
    void everyEventAndFieldIsDocumented() throws Exception {
        Path doc = Path.of(System.getProperty("basedir", "."), "..", "docs", "events.md");
        String text = Files.readString(doc);
        for (Class<? extends TraceEvent> type : EventFields.eventTypes()) {
            TraceEvent sample = EventFields.sample(type);
            String heading = "#### `" + sample.name() + "`";
            int at = text.indexOf(heading);
            assertTrue(at >= 0, "docs/events.md has no section " + heading);
            int end = text.indexOf("\n#", at + heading.length());
            String section = text.substring(at, end < 0 ? text.length() : end);
            assertTrue(section.contains("Actor `" + NdjsonWriter.actor(sample.actor()) + "`"),
                    sample.name() + ": actor " + sample.actor());
            for (EventFields.Field f : EventFields.of(type)) {
                String jsonType = f.type() == boolean.class ? "boolean" : f.type() == String.class ? "string"
                        : "integer";
                assertTrue(section.contains("| `" + f.name() + "` | " + jsonType + " |"),
                        sample.name() + ": field " + f.name() + " (" + jsonType + ") not documented");
            }
            int rows = section.split("\n\\| `", -1).length - 1;
            assertEquals(EventFields.of(type).size(), rows, sample.name() + ": documented fields that do not exist");
        }
    }

    private static JsonNode parse(String l) {
        try {
            return JSON.readTree(l);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + l, e);
        }
    }

    private static final Map<String, Class<? extends TraceEvent>> TYPES = new HashMap<>();

    private static Class<? extends TraceEvent> typeOf(String name) {
        if (TYPES.isEmpty()) {
            for (Class<? extends TraceEvent> c : EventFields.eventTypes()) {
                TYPES.put(EventFields.sample(c).name(), c);
            }
        }
        Class<? extends TraceEvent> c = TYPES.get(name);
        assertTrue(c != null, "no event named " + name);
        return c;
    }
}
