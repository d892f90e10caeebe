package dev.apfsim.report;

import dev.apfsim.report.perfetto.PerfettoTrace.DebugAnnotation;
import dev.apfsim.report.perfetto.PerfettoTrace.InternedData;
import dev.apfsim.report.perfetto.PerfettoTrace.Trace;
import dev.apfsim.report.perfetto.PerfettoTrace.TracePacket;
import dev.apfsim.report.perfetto.PerfettoTrace.TrackDescriptor;
import dev.apfsim.report.perfetto.PerfettoTrace.TrackEvent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Reads a {@code .pftrace} as Perfetto's trace processor does — a {@code Trace} of {@code TracePacket}s, parsed by
 * protobuf-java from the proto subset in src/test/proto — resolving interned names, the incremental clock and the
 * track descriptors, and checks the rules a reader relies on: interned data and tracks defined before use, the
 * sequence's flags, time order per track, balanced slices, instants inside a slice on thread tracks. Collects
 * tracks, slices, instants, flows and counters in the shape {@link TraceCheck} gives for the JSON.
 */
final class ProtoTraceCheck {
    /** A thread track: its process and thread ids (global instants: tid -1). */
    record Thread(int pid, long tid) {
    }

    record Slice(Thread track, String name, String category, long startNs, long endNs, Map<String, String> args) {
    }

    record Instant(Thread track, String name, long ts, Map<String, String> args) {
    }

    record Counter(String name, long ts, long value) {
    }

    final List<TracePacket> packets;
    final Map<Integer, String> processNames = new HashMap<>();
    final Map<Thread, String> threadNames = new HashMap<>();
    final Map<Integer, Integer> processRanks = new HashMap<>();
    final List<Slice> slices = new ArrayList<>();
    final List<Instant> instants = new ArrayList<>();
    final Map<Long, Instant> flowStarts = new HashMap<>();
    final Map<Long, Instant> flowEnds = new HashMap<>();
    final List<Counter> counters = new ArrayList<>();

    private final Map<Long, String> names = new HashMap<>();
    private final Map<Long, String> categories = new HashMap<>();
    private final Map<Long, String> argNames = new HashMap<>();
    private final Map<Long, String> stringValues = new HashMap<>();
    private final Map<Long, TrackDescriptor> tracks = new HashMap<>();
    private final Map<Long, Integer> processByUuid = new HashMap<>();
    private final Map<Long, List<Slice>> open = new HashMap<>();
    private final Map<Long, Long> lastTs = new HashMap<>();

    private ProtoTraceCheck(List<TracePacket> packets) {
        this.packets = packets;
    }

    static ProtoTraceCheck read(Path file) throws IOException {
        Trace trace;
        try (InputStream in = Files.newInputStream(file)) {
            trace = Trace.parseFrom(in);
        }
        ProtoTraceCheck c = new ProtoTraceCheck(trace.getPacketList());
        c.check();
        return c;
    }

    private void check() {
        assertFalse(packets.isEmpty(), "packets");
        TracePacket first = packets.getFirst();
        assertEquals(1, first.getSequenceFlags() & 1, "the first packet clears the incremental state");
        assertTrue(first.getFirstPacketOnSequence());
        assertEquals(ProtoTimeline.CLOCK_INCREMENTAL, first.getTracePacketDefaults().getTimestampClockId(),
                "timestamps on the incremental clock by default");
        assertTrue(first.hasClockSnapshot(), "clock snapshot");
        boolean incremental = first.getClockSnapshot().getClocksList().stream().anyMatch(k ->
                k.getClockId() == ProtoTimeline.CLOCK_INCREMENTAL && k.getIsIncremental() && k.getTimestamp() == 0);
        assertTrue(incremental, () -> "clock 64 is incremental from 0: " + first.getClockSnapshot());
        long clock = 0; // the incremental clock, in ns
        for (TracePacket p : packets) {
            assertEquals(1, p.getTrustedPacketSequenceId(), "one sequence");
            if (p.hasInternedData()) {
                intern(p.getInternedData());
            }
            if (p.hasTrackDescriptor()) {
                describe(p.getTrackDescriptor());
            }
            if (!p.hasTrackEvent()) {
                continue;
            }
            assertEquals(2, p.getSequenceFlags() & 2, () -> "track events need the incremental state: " + p);
            long ts;
            if (p.hasTimestampClockId()) {
                assertEquals(ProtoTimeline.CLOCK_BOOTTIME, p.getTimestampClockId(), () -> "absolute clock: " + p);
                ts = p.getTimestamp();
            } else {
                clock += p.getTimestamp();
                ts = clock;
            }
            event(p.getTrackEvent(), ts);
        }
        open.forEach((uuid, stack) -> assertTrue(stack.isEmpty(), () -> "unclosed slices on " + uuid + ": " + stack));
    }

    private void intern(InternedData d) {
        d.getEventNamesList().forEach(n -> define(names, n.getIid(), n.getName()));
        d.getEventCategoriesList().forEach(n -> define(categories, n.getIid(), n.getName()));
        d.getDebugAnnotationNamesList().forEach(n -> define(argNames, n.getIid(), n.getName()));
        d.getDebugAnnotationStringValuesList().forEach(n -> define(stringValues, n.getIid(), n.getStr().toStringUtf8()));
    }

    private static void define(Map<Long, String> table, long iid, String s) {
        assertTrue(iid > 0, "iids start at 1");
        String old = table.put(iid, s);
        assertTrue(old == null || old.equals(s), () -> "iid " + iid + " redefined: " + old + " then " + s);
    }

    private void describe(TrackDescriptor d) {
        assertTrue(d.hasUuid(), () -> "uuid: " + d);
        assertTrue(tracks.put(d.getUuid(), d) == null || d.getUuid() == 0, () -> "track described twice: " + d);
        if (d.hasProcess()) {
            processNames.put(d.getProcess().getPid(), d.getProcess().getProcessName());
            processRanks.put(d.getProcess().getPid(), d.getSiblingOrderRank());
            processByUuid.put(d.getUuid(), d.getProcess().getPid());
        } else if (d.hasThread()) {
            Integer pid = processByUuid.get(d.getParentUuid());
            assertNotNull(pid, () -> "a thread's parent is a process described before it: " + d);
            assertEquals((int) pid, d.getThread().getPid(), () -> "thread pid is its process's: " + d);
            assertTrue(threadNames.put(new Thread(d.getThread().getPid(), d.getThread().getTid()),
                    d.getThread().getThreadName()) == null, () -> "thread described twice: " + d);
        } else if (d.hasCounter()) {
            assertTrue(processByUuid.containsKey(d.getParentUuid()), () -> "a counter belongs to a process: " + d);
            assertTrue(d.hasName(), () -> "counter name: " + d);
        }
    }

    private Thread thread(long uuid) {
        if (uuid == 0) {
            return new Thread(PerfettoWriter.VM_PID, -1);
        }
        TrackDescriptor d = tracks.get(uuid);
        assertNotNull(d, () -> "track " + uuid + " described before use");
        assertTrue(d.hasThread(), () -> "slices and instants are on thread tracks: " + d);
        return new Thread(d.getThread().getPid(), d.getThread().getTid());
    }

    private void event(TrackEvent e, long ts) {
        long uuid = e.getTrackUuid();
        Long prev = lastTs.get(uuid);
        assertTrue(prev == null || ts >= prev, () -> "time order on track " + uuid + ": " + prev + " then " + ts);
        lastTs.put(uuid, ts);
        List<Slice> stack = open.computeIfAbsent(uuid, k -> new ArrayList<>());
        switch (e.getType()) {
            case TYPE_SLICE_BEGIN -> stack.add(new Slice(thread(uuid), name(e), category(e), ts, -1, args(e)));
            case TYPE_SLICE_END -> {
                assertFalse(stack.isEmpty(), () -> "end without begin on " + uuid + " at " + ts);
                Slice b = stack.removeLast();
                slices.add(new Slice(b.track(), b.name(), b.category(), b.startNs(), ts, b.args()));
            }
            case TYPE_INSTANT -> {
                assertEquals("apf", category(e));
                Instant i = new Instant(thread(uuid), name(e), ts, args(e));
                if (uuid != 0) {
                    assertFalse(stack.isEmpty(), () -> "instant inside a state slice: " + i);
                }
                instants.add(i);
                for (long id : e.getFlowIdsList()) {
                    assertTrue(flowStarts.put(id, i) == null, () -> "flow id reused: " + id);
                }
                for (long id : e.getTerminatingFlowIdsList()) {
                    Instant s = flowStarts.get(id);
                    assertNotNull(s, () -> "flow end without start: " + i);
                    assertEquals(s.track(), i.track(), "flow stays on its vCPU");
                    assertTrue(s.ts() <= ts, "flow goes forward in time");
                    assertTrue(flowEnds.put(id, i) == null, () -> "flow ended twice: " + i);
                }
            }
            case TYPE_COUNTER -> {
                TrackDescriptor d = tracks.get(uuid);
                assertTrue(d != null && d.hasCounter(), () -> "counter values on a counter track: " + uuid);
                assertTrue(e.hasCounterValue(), "counter value");
                counters.add(new Counter(d.getName(), ts, e.getCounterValue()));
            }
            default -> fail("unexpected event type " + e);
        }
    }

    private String name(TrackEvent e) {
        String n = e.hasNameIid() ? names.get(e.getNameIid()) : e.getName();
        assertNotNull(n, () -> "name iid " + e.getNameIid() + " defined before use");
        assertFalse(n.isEmpty(), "name");
        return n;
    }

    private String category(TrackEvent e) {
        if (e.getCategoryIidsCount() > 0) {
            String c = categories.get(e.getCategoryIids(0));
            assertNotNull(c, "category iid defined before use");
            return c;
        }
        return e.getCategoriesCount() > 0 ? e.getCategories(0) : null;
    }

    /** Arguments as the JSON shows them: hex for pointers, decimal for integers. */
    private Map<String, String> args(TrackEvent e) {
        if (e.getDebugAnnotationsCount() == 0) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (DebugAnnotation a : e.getDebugAnnotationsList()) {
            String key = a.hasNameIid() ? argNames.get(a.getNameIid()) : a.getName();
            assertNotNull(key, "argument name iid defined before use");
            String value = switch (a.getValueCase()) {
                case BOOL_VALUE -> Boolean.toString(a.getBoolValue());
                case INT_VALUE -> Long.toString(a.getIntValue());
                case UINT_VALUE -> Long.toUnsignedString(a.getUintValue());
                case POINTER_VALUE -> "0x" + Long.toHexString(a.getPointerValue());
                case STRING_VALUE -> a.getStringValue();
                case STRING_VALUE_IID -> stringValues.get(a.getStringValueIid());
                default -> fail("unexpected argument " + a);
            };
            assertNotNull(value, "string value iid defined before use");
            out.put(key, value);
        }
        return out;
    }
}
