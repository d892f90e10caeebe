package dev.apfsim.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Validates a trace-event JSON file against the Trace Event Format as Perfetto's JSON importer reads it: required
 * fields per phase, timestamps in microseconds with at most ns precision, per-track time order, balanced B/E,
 * flows whose start and end bind to an instant just written on the same track. Collects what tests look at.
 */
final class TraceCheck {
    static final Pattern TS = Pattern.compile("\\d+(\\.\\d{1,3})?");
    static final Set<String> PHASES = Set.of("B", "E", "i", "s", "f", "C", "M");

    /** A B/E slice reconstructed from the file. */
    record Slice(int pid, int tid, String name, double start, double end, JsonNode args) {
    }

    final JsonNode root;
    final List<JsonNode> events = new ArrayList<>();
    final Map<Integer, String> processNames = new HashMap<>();
    final Map<List<Integer>, String> threadNames = new HashMap<>();
    final List<Slice> slices = new ArrayList<>();
    final List<JsonNode> instants = new ArrayList<>();
    final Map<Long, JsonNode> flowStarts = new HashMap<>();
    final Map<Long, JsonNode> flowEnds = new HashMap<>();
    final List<JsonNode> counters = new ArrayList<>();

    private TraceCheck(JsonNode root) {
        this.root = root;
    }

    static TraceCheck read(Path file) throws IOException {
        String text = Files.readString(file);
        JsonNode root = new ObjectMapper().readTree(text);
        TraceCheck c = new TraceCheck(root);
        c.check(text);
        return c;
    }

    private void check(String text) {
        assertTrue(root.isObject(), "top level is an object");
        JsonNode te = root.get("traceEvents");
        assertNotNull(te, "traceEvents");
        assertTrue(te.isArray(), "traceEvents is an array");
        assertEquals("ns", root.path("displayTimeUnit").asText(), "displayTimeUnit");
        // Perfetto only honours a leading displayTimeUnit (as the unit of ts, in old versions): keep it after
        assertTrue(text.indexOf("\"displayTimeUnit\"") > text.lastIndexOf("\"ph\""), "displayTimeUnit after events");

        Map<List<Integer>, Double> lastTs = new HashMap<>();
        Map<List<Integer>, List<JsonNode>> stacks = new HashMap<>();
        Map<List<Integer>, JsonNode> lastOnTrack = new HashMap<>();
        Map<String, Double> lastCounterTs = new HashMap<>();
        for (JsonNode e : te) {
            events.add(e);
            String ph = text(e, "ph");
            assertTrue(PHASES.contains(ph), () -> "unexpected phase " + ph + ": " + e);
            int pid = e.path("pid").asInt(-1);
            assertTrue(e.get("pid") != null && e.get("pid").isInt(), () -> "pid: " + e);
            if (ph.equals("M")) {
                String name = text(e, "name");
                JsonNode args = e.get("args");
                assertNotNull(args, () -> "metadata args: " + e);
                switch (name) {
                    case "process_name" -> processNames.put(pid, args.get("name").asText());
                    case "thread_name" -> threadNames.put(List.of(pid, e.get("tid").asInt()),
                            args.get("name").asText());
                    case "process_sort_index", "thread_sort_index" -> assertTrue(args.get("sort_index").isInt());
                    default -> fail("unknown metadata " + e);
                }
                continue;
            }
            JsonNode tsNode = e.get("ts");
            assertNotNull(tsNode, () -> "ts: " + e);
            assertTrue(tsNode.isNumber(), () -> "ts is a number: " + e);
            assertTrue(TS.matcher(tsNode.asText()).matches() || TS.matcher(tsNode.decimalValue().toPlainString())
                    .matches(), () -> "ts in us with at most ns precision: " + e);
            double ts = tsNode.asDouble();
            assertTrue(ts >= 0, () -> "ts >= 0: " + e);
            if (ph.equals("C")) {
                text(e, "name");
                assertTrue(e.get("args").isObject() && e.get("args").size() > 0, () -> "counter args: " + e);
                e.get("args").forEach(v -> assertTrue(v.isNumber(), () -> "counter value is a number: " + e));
                String key = pid + "/" + e.get("name").asText();
                assertTrue(ts >= lastCounterTs.getOrDefault(key, 0.0), () -> "counter time order: " + e);
                lastCounterTs.put(key, ts);
                counters.add(e);
                continue;
            }
            if (ph.equals("i") && "g".equals(e.path("s").asText())) {
                text(e, "name");
                instants.add(e);
                continue;
            }
            assertTrue(e.get("tid") != null && e.get("tid").isInt(), () -> "tid: " + e);
            List<Integer> track = List.of(pid, e.get("tid").asInt());
            Double prev = lastTs.get(track);
            assertTrue(prev == null || ts >= prev, () -> "time order on track " + track + ": " + prev + " then " + e);
            lastTs.put(track, ts);
            List<JsonNode> stack = stacks.computeIfAbsent(track, k -> new ArrayList<>());
            switch (ph) {
                case "B" -> {
                    text(e, "name");
                    stack.add(e);
                }
                case "E" -> {
                    assertFalse(stack.isEmpty(), () -> "E without B on " + track + ": " + e);
                    JsonNode b = stack.removeLast();
                    slices.add(new Slice(pid, track.get(1), b.get("name").asText(), b.get("ts").asDouble(), ts,
                            b.get("args")));
                }
                case "i" -> {
                    text(e, "name");
                    assertEquals("t", e.path("s").asText("t"), () -> "instant scope: " + e);
                    assertFalse(stack.isEmpty(), () -> "instant inside a state slice: " + e);
                    instants.add(e);
                }
                case "s", "f" -> {
                    assertTrue(e.get("id").isIntegralNumber(), () -> "flow id: " + e);
                    text(e, "name");
                    text(e, "cat");
                    JsonNode before = lastOnTrack.get(track);
                    assertTrue(before != null && before.get("ph").asText().equals("i")
                            && before.get("ts").asDouble() == ts, () -> "flow binds to an instant just before: " + e);
                    long id = e.get("id").asLong();
                    if (ph.equals("s")) {
                        assertNull(flowStarts.put(id, e), () -> "flow id reused: " + e);
                    } else {
                        assertEquals("e", e.path("bp").asText(), () -> "flow end binds to the enclosing slice: " + e);
                        JsonNode s = flowStarts.get(id);
                        assertNotNull(s, () -> "flow end without start: " + e);
                        assertEquals(s.get("pid"), e.get("pid"), "flow stays on its vCPU");
                        assertEquals(s.get("tid"), e.get("tid"), "flow stays on its vCPU");
                        assertEquals(s.get("name"), e.get("name"));
                        assertEquals(s.get("cat"), e.get("cat"));
                        assertTrue(s.get("ts").asDouble() <= ts, "flow goes forward in time");
                        assertNull(flowEnds.put(id, e), () -> "flow ended twice: " + e);
                    }
                }
                default -> fail("unexpected " + e);
            }
            lastOnTrack.put(track, e);
        }
        stacks.forEach((track, stack) -> assertTrue(stack.isEmpty(), () -> "unclosed slices on " + track + ": " + stack));
        for (List<Integer> track : lastTs.keySet()) {
            assertTrue(threadNames.containsKey(track), () -> "track " + track + " has a name");
            assertTrue(processNames.containsKey(track.get(0)), () -> "process " + track.get(0) + " has a name");
        }
    }

    private static void assertNull(Object o, java.util.function.Supplier<String> message) {
        assertTrue(o == null, message);
    }

    private static String text(JsonNode e, String field) {
        JsonNode n = e.get(field);
        assertTrue(n != null && n.isTextual() && !n.asText().isEmpty(), field + " missing: " + e);
        return n.asText();
    }

    /** The tid of the thread named {@code name}. */
    int tid(String name) {
        for (Map.Entry<List<Integer>, String> e : threadNames.entrySet()) {
            if (e.getValue().equals(name)) {
                return e.getKey().get(1);
            }
        }
        throw new AssertionError("no thread " + name + " in " + threadNames.values());
    }

    List<Slice> slicesOn(String thread) {
        int tid = tid(thread);
        return slices.stream().filter(s -> s.tid() == tid).sorted((a, b) -> Double.compare(a.start(), b.start()))
                .toList();
    }

    List<JsonNode> instantsNamed(String name) {
        return instants.stream().filter(i -> i.get("name").asText().equals(name)).toList();
    }
}
