package dev.apfsim.report;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.apfsim.trace.TraceEvent;

import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.List;

/**
 * Perfetto's native trace format: a stream of {@code TracePacket}s ({@code protos/perfetto/trace/trace.proto},
 * {@code Trace.packet = 1}), hand-encoded with protobuf-java's {@link CodedOutputStream} — only the few fields a
 * track-event trace needs, so no generated code.
 *
 * <p>What keeps it small: one packet sequence whose first packet clears the incremental state, sets an
 * incremental clock (sequence-scoped clock 64, {@code ClockSnapshot.Clock.is_incremental}) as the default
 * timestamp clock, so each packet stores the time since the previous one; event names, categories, argument names
 * and short string values are interned ({@code InternedData}, referenced by iid from packets flagged
 * {@code SEQ_NEEDS_INCREMENTAL_STATE}); tracks are referred to by small uuids; flows are ids on the instants
 * themselves ({@code flow_ids} / {@code terminating_flow_ids}); addresses and tokens are {@code pointer_value}s
 * (which the UI shows in hex). Writes allocate nothing per event but the event's argument values.
 */
final class ProtoTimeline implements TimelineEncoder {
    // TracePacket
    private static final int PACKET = 1; // Trace.packet
    private static final int P_TIMESTAMP = 8;
    private static final int P_CLOCK_ID = 58;
    private static final int P_SEQUENCE_ID = 10;
    private static final int P_SEQUENCE_FLAGS = 13;
    private static final int P_INTERNED = 12;
    private static final int P_DEFAULTS = 59;
    private static final int P_TRACK_EVENT = 11;
    private static final int P_TRACK_DESCRIPTOR = 60;
    private static final int P_CLOCK_SNAPSHOT = 6;
    private static final int P_FIRST_ON_SEQUENCE = 87;
    private static final int SEQ_INCREMENTAL_STATE_CLEARED = 1;
    private static final int SEQ_NEEDS_INCREMENTAL_STATE = 2;
    private static final int SEQUENCE = 1;
    /** BuiltinClocks.BOOTTIME, the trace's clock; simulated ns are its values. */
    static final int CLOCK_BOOTTIME = 6;
    /** A sequence-scoped clock (ids 64-127): deltas from the previous packet of the sequence. */
    static final int CLOCK_INCREMENTAL = 64;
    // TrackEvent
    private static final int E_CATEGORY_IIDS = 3;
    private static final int E_CATEGORIES = 22;
    private static final int E_NAME_IID = 10;
    private static final int E_NAME = 23;
    private static final int E_TYPE = 9;
    private static final int E_TRACK_UUID = 11;
    private static final int E_ANNOTATIONS = 4;
    private static final int E_COUNTER_VALUE = 30;
    private static final int E_FLOW_IDS = 47;
    private static final int E_TERMINATING_FLOW_IDS = 48;
    static final int TYPE_SLICE_BEGIN = 1;
    static final int TYPE_SLICE_END = 2;
    static final int TYPE_INSTANT = 3;
    static final int TYPE_COUNTER = 4;
    // DebugAnnotation
    private static final int A_NAME_IID = 1;
    private static final int A_NAME = 10;
    private static final int A_BOOL = 2;
    private static final int A_INT = 4;
    private static final int A_STRING = 6;
    private static final int A_POINTER = 7;
    private static final int A_STRING_IID = 17;
    // InternedData
    private static final int I_CATEGORIES = 1;
    private static final int I_NAMES = 2;
    private static final int I_ANNOTATION_NAMES = 3;
    private static final int I_STRING_VALUES = 29;
    /** Distinct strings interned per kind; beyond, strings are written inline (names with tokens are unbounded). */
    private static final int MAX_INTERNED = 4096;
    /** Process tracks get uuids above every thread and counter track's. */
    private static final long PROCESS_UUID_BASE = 1L << 30;

    /** Packets are encoded into {@link #buffer} (protobuf's array encoder is the fast one), then handed on whole. */
    private final OutputStream sink;
    private byte[] buffer = new byte[1 << 16];
    private CodedOutputStream out = CodedOutputStream.newInstance(buffer);
    private final Interner names = new Interner(I_NAMES);
    private final Interner categories = new Interner(I_CATEGORIES);
    private final Interner argNames = new Interner(I_ANNOTATION_NAMES);
    private final Interner stringValues = new Interner(I_STRING_VALUES);
    /** Interned entries the packet being written defines. */
    private final Interner[] pending = new Interner[8];
    private final long[] pendingIid = new long[8];
    private final String[] pendingText = new String[8];
    private int pendingCount;
    private long lastTs;
    private final java.util.BitSet counterDescribed = new java.util.BitSet();

    // the event being written: its arguments
    private static final int BOOL = 0;
    private static final int INT = 1;
    private static final int POINTER = 2;
    private static final int STRING = 3;
    private int args;
    private long[] argNameIid = new long[8];
    private String[] argName = new String[8];
    private int[] argKind = new int[8];
    private long[] argLong = new long[8];
    private String[] argString = new String[8];
    private long[] argStringIid = new long[8];

    ProtoTimeline(OutputStream sink) {
        this.sink = sink;
    }

    /** Strings of one kind and their iids (from 1). */
    private final class Interner {
        final int field;
        final HashMap<String, Long> ids = new HashMap<>();

        Interner(int field) {
            this.field = field;
        }

        /** The iid of {@code s}, defining it in the current packet when new; 0 when it is not interned. */
        long iid(String s) {
            Long id = ids.get(s);
            if (id != null) {
                return id;
            }
            if (ids.size() >= MAX_INTERNED || pendingCount == pending.length) {
                return 0;
            }
            long iid = ids.size() + 1;
            ids.put(s, iid);
            pending[pendingCount] = this;
            pendingIid[pendingCount] = iid;
            pendingText[pendingCount] = s;
            pendingCount++;
            return iid;
        }
    }

    // ---- the encoder's calls -----------------------------------------------------------------------------

    @Override
    public void start() throws IOException {
        // ClockSnapshot {clocks: [{BOOTTIME, 0}, {64, 0, incremental}]} and TracePacketDefaults {clock 64}
        int boot = CodedOutputStream.computeUInt32Size(1, CLOCK_BOOTTIME) + CodedOutputStream.computeUInt64Size(2, 0);
        int incr = CodedOutputStream.computeUInt32Size(1, CLOCK_INCREMENTAL) + CodedOutputStream.computeUInt64Size(2, 0)
                + CodedOutputStream.computeBoolSize(3, true);
        int snapshot = nested(1, boot) + nested(1, incr);
        int defaults = CodedOutputStream.computeUInt32Size(P_CLOCK_ID, CLOCK_INCREMENTAL);
        int packet = CodedOutputStream.computeUInt32Size(P_SEQUENCE_ID, SEQUENCE)
                + CodedOutputStream.computeUInt32Size(P_SEQUENCE_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED)
                + CodedOutputStream.computeBoolSize(P_FIRST_ON_SEQUENCE, true)
                + nested(P_DEFAULTS, defaults) + nested(P_CLOCK_SNAPSHOT, snapshot);
        beginPacket(packet);
        out.writeUInt32(P_SEQUENCE_ID, SEQUENCE);
        out.writeUInt32(P_SEQUENCE_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED);
        out.writeBool(P_FIRST_ON_SEQUENCE, true);
        beginNested(P_DEFAULTS, defaults);
        out.writeUInt32(P_CLOCK_ID, CLOCK_INCREMENTAL);
        beginNested(P_CLOCK_SNAPSHOT, snapshot);
        beginNested(1, boot);
        out.writeUInt32(1, CLOCK_BOOTTIME);
        out.writeUInt64(2, 0);
        beginNested(1, incr);
        out.writeUInt32(1, CLOCK_INCREMENTAL);
        out.writeUInt64(2, 0);
        out.writeBool(3, true);
        // the root track (uuid 0): order processes and threads by their sibling_order_rank, as the JSON's sort_index
        int root = CodedOutputStream.computeUInt64Size(1, 0) + CodedOutputStream.computeEnumSize(19, 1)
                + CodedOutputStream.computeEnumSize(20, 1);
        descriptorPacket(root);
        out.writeUInt64(1, 0);
        out.writeEnum(19, 1); // process_ordering: PROCESS_ORDERING_EXPLICIT
        out.writeEnum(20, 1); // thread_ordering: THREAD_ORDERING_EXPLICIT
    }

    @Override
    public void process(int pid, String name, int sort) throws IOException {
        int proc = CodedOutputStream.computeInt32Size(1, pid) + CodedOutputStream.computeStringSize(6, name);
        int desc = CodedOutputStream.computeUInt64Size(1, processUuid(pid)) + nested(3, proc)
                + CodedOutputStream.computeInt32Size(12, sort);
        descriptorPacket(desc);
        out.writeUInt64(1, processUuid(pid));
        beginNested(3, proc);
        out.writeInt32(1, pid);
        out.writeString(6, name);
        out.writeInt32(12, sort); // sibling_order_rank
    }

    @Override
    public void thread(Timeline.Track tr, String name, int sort) throws IOException {
        int thread = CodedOutputStream.computeInt32Size(1, tr.pid) + CodedOutputStream.computeInt64Size(2, tr.tid)
                + CodedOutputStream.computeStringSize(5, name);
        int desc = CodedOutputStream.computeUInt64Size(1, tr.id)
                + CodedOutputStream.computeUInt64Size(5, processUuid(tr.pid)) + nested(4, thread)
                + CodedOutputStream.computeInt32Size(12, sort);
        descriptorPacket(desc);
        out.writeUInt64(1, tr.id);
        out.writeUInt64(5, processUuid(tr.pid)); // parent_uuid
        beginNested(4, thread);
        out.writeInt32(1, tr.pid);
        out.writeInt64(2, tr.tid);
        out.writeString(5, name);
        out.writeInt32(12, sort);
    }

    @Override
    public void begin(Timeline.Track tr, long ts, String name, String category, List<Timeline.Arg> a)
            throws IOException {
        args = 0;
        if (a != null) {
            for (int i = 0; i < a.size(); i++) {
                Timeline.Arg x = a.get(i);
                arg(x.key(), x.hex() ? POINTER : INT, x.value(), null);
            }
        }
        trackEvent(ts, TYPE_SLICE_BEGIN, tr.id, name, category, 0, 0, false, 0);
    }

    @Override
    public void end(Timeline.Track tr, long ts) throws IOException {
        args = 0;
        trackEvent(ts, TYPE_SLICE_END, tr.id, null, null, 0, 0, false, 0);
    }

    @Override
    public void instant(Timeline.Track tr, long ts, String name, TraceEvent e, long flowOut, long flowIn)
            throws IOException {
        args = 0;
        if (e != null) {
            arg("vcpu", INT, e.vcpu(), null);
            List<EventFields.Field> fields = EventFields.of(e.getClass());
            for (int i = 0; i < fields.size(); i++) {
                EventFields.Field f = fields.get(i);
                switch (f.kind()) {
                    case BOOLEAN -> arg(f.name(), BOOL, f.getBoolean(e) ? 1 : 0, null);
                    case INTEGER -> arg(f.name(), HEX.contains(f.name()) ? POINTER : INT, f.getLong(e), null);
                    case STRING -> arg(f.name(), STRING, 0, String.valueOf(f.getString(e)));
                    case OTHER -> {
                        Object v = f.get(e);
                        if (v instanceof Number n) {
                            arg(f.name(), INT, n.longValue(), null);
                        } else {
                            arg(f.name(), STRING, 0, String.valueOf(v));
                        }
                    }
                }
            }
        }
        trackEvent(ts, TYPE_INSTANT, tr.global() ? 0 : tr.id, name, "apf", flowOut, flowIn, false, 0);
    }

    @Override
    public void counter(Timeline.CounterTrack c, long ts, long value) throws IOException {
        if (!counterDescribed.get(c.id)) {
            counterDescribed.set(c.id);
            String name = c.name + " " + c.key; // as Perfetto names a JSON counter: name, then the args key
            int counter = CodedOutputStream.computeEnumSize(3, 2); // unit: UNIT_COUNT
            int desc = CodedOutputStream.computeUInt64Size(1, c.id)
                    + CodedOutputStream.computeUInt64Size(5, processUuid(c.pid))
                    + CodedOutputStream.computeStringSize(2, name) + nested(8, counter);
            descriptorPacket(desc);
            out.writeUInt64(1, c.id);
            out.writeUInt64(5, processUuid(c.pid));
            out.writeString(2, name);
            beginNested(8, counter);
            out.writeEnum(3, 2);
        }
        args = 0;
        trackEvent(ts, TYPE_COUNTER, c.id, null, null, 0, 0, true, value);
    }

    @Override
    public void finish(String title) throws IOException {
        flush();
    }

    /** Hands the packets encoded so far to the stream (whole packets only, so a cut file ends in one). */
    void flush() throws IOException {
        int used = out.getTotalBytesWritten();
        if (used > 0) {
            sink.write(buffer, 0, used);
            out = CodedOutputStream.newInstance(buffer);
        }
    }

    // ---- track events ------------------------------------------------------------------------------------

    private void arg(String name, int kind, long value, String text) {
        if (args == argKind.length) {
            int n = args * 2;
            argNameIid = java.util.Arrays.copyOf(argNameIid, n);
            argName = java.util.Arrays.copyOf(argName, n);
            argKind = java.util.Arrays.copyOf(argKind, n);
            argLong = java.util.Arrays.copyOf(argLong, n);
            argString = java.util.Arrays.copyOf(argString, n);
            argStringIid = java.util.Arrays.copyOf(argStringIid, n);
        }
        argName[args] = name;
        argKind[args] = kind;
        argLong[args] = value;
        argString[args] = text;
        args++;
    }

    private int annotationSize(int i) {
        int size = argNameIid[i] != 0 ? CodedOutputStream.computeUInt64Size(A_NAME_IID, argNameIid[i])
                : CodedOutputStream.computeStringSize(A_NAME, argName[i]);
        return size + switch (argKind[i]) {
            case BOOL -> CodedOutputStream.computeBoolSize(A_BOOL, argLong[i] != 0);
            case INT -> CodedOutputStream.computeInt64Size(A_INT, argLong[i]);
            case POINTER -> CodedOutputStream.computeUInt64Size(A_POINTER, argLong[i]);
            default -> argStringIid[i] != 0 ? CodedOutputStream.computeUInt64Size(A_STRING_IID, argStringIid[i])
                    : CodedOutputStream.computeStringSize(A_STRING, argString[i]);
        };
    }

    private void writeAnnotation(int i) throws IOException {
        if (argNameIid[i] != 0) {
            out.writeUInt64(A_NAME_IID, argNameIid[i]);
        } else {
            out.writeString(A_NAME, argName[i]);
        }
        switch (argKind[i]) {
            case BOOL -> out.writeBool(A_BOOL, argLong[i] != 0);
            case INT -> out.writeInt64(A_INT, argLong[i]);
            case POINTER -> out.writeUInt64(A_POINTER, argLong[i]);
            default -> {
                if (argStringIid[i] != 0) {
                    out.writeUInt64(A_STRING_IID, argStringIid[i]);
                } else {
                    out.writeString(A_STRING, argString[i]);
                }
            }
        }
    }

    /** One TracePacket with a TrackEvent; {@code uuid} 0 is the global track. */
    private void trackEvent(long ts, int type, long uuid, String name, String category, long flowOut, long flowIn,
                            boolean isCounter, long counterValue) throws IOException {
        pendingCount = 0;
        long nameIid = name == null ? 0 : names.iid(name);
        long catIid = category == null ? 0 : categories.iid(category);
        for (int i = 0; i < args; i++) {
            argNameIid[i] = argNames.iid(argName[i]);
            argStringIid[i] = argKind[i] == STRING && argString[i].length() <= 64 ? stringValues.iid(argString[i]) : 0;
        }
        int event = CodedOutputStream.computeEnumSize(E_TYPE, type);
        if (uuid != 0) {
            event += CodedOutputStream.computeUInt64Size(E_TRACK_UUID, uuid);
        }
        if (name != null) {
            event += nameIid != 0 ? CodedOutputStream.computeUInt64Size(E_NAME_IID, nameIid)
                    : CodedOutputStream.computeStringSize(E_NAME, name);
        }
        if (category != null) {
            event += catIid != 0 ? CodedOutputStream.computeUInt64Size(E_CATEGORY_IIDS, catIid)
                    : CodedOutputStream.computeStringSize(E_CATEGORIES, category);
        }
        for (int i = 0; i < args; i++) {
            event += nested(E_ANNOTATIONS, annotationSize(i));
        }
        if (isCounter) {
            event += CodedOutputStream.computeInt64Size(E_COUNTER_VALUE, counterValue);
        }
        if (flowOut != 0) {
            event += CodedOutputStream.computeFixed64Size(E_FLOW_IDS, flowOut);
        }
        if (flowIn != 0) {
            event += CodedOutputStream.computeFixed64Size(E_TERMINATING_FLOW_IDS, flowIn);
        }
        int interned = 0;
        for (int i = 0; i < pendingCount; i++) {
            interned += nested(pending[i].field, entrySize(i));
        }
        // time: a delta on the incremental clock; never backwards, but if it were, absolute on BOOTTIME
        boolean forward = ts >= lastTs;
        long stamp = forward ? ts - lastTs : ts;
        int packet = CodedOutputStream.computeUInt64Size(P_TIMESTAMP, stamp)
                + (forward ? 0 : CodedOutputStream.computeUInt32Size(P_CLOCK_ID, CLOCK_BOOTTIME))
                + CodedOutputStream.computeUInt32Size(P_SEQUENCE_ID, SEQUENCE)
                + CodedOutputStream.computeUInt32Size(P_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE)
                + (interned > 0 ? nested(P_INTERNED, interned) : 0)
                + nested(P_TRACK_EVENT, event);
        beginPacket(packet);
        out.writeUInt64(P_TIMESTAMP, stamp);
        if (!forward) {
            out.writeUInt32(P_CLOCK_ID, CLOCK_BOOTTIME);
        } else {
            lastTs = ts;
        }
        out.writeUInt32(P_SEQUENCE_ID, SEQUENCE);
        out.writeUInt32(P_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
        if (interned > 0) {
            beginNested(P_INTERNED, interned);
            for (int i = 0; i < pendingCount; i++) {
                beginNested(pending[i].field, entrySize(i));
                out.writeUInt64(1, pendingIid[i]);
                out.writeString(2, pendingText[i]);
            }
        }
        beginNested(P_TRACK_EVENT, event);
        out.writeEnum(E_TYPE, type);
        if (uuid != 0) {
            out.writeUInt64(E_TRACK_UUID, uuid);
        }
        if (name != null) {
            if (nameIid != 0) {
                out.writeUInt64(E_NAME_IID, nameIid);
            } else {
                out.writeString(E_NAME, name);
            }
        }
        if (category != null) {
            if (catIid != 0) {
                out.writeUInt64(E_CATEGORY_IIDS, catIid);
            } else {
                out.writeString(E_CATEGORIES, category);
            }
        }
        for (int i = 0; i < args; i++) {
            beginNested(E_ANNOTATIONS, annotationSize(i));
            writeAnnotation(i);
        }
        if (isCounter) {
            out.writeInt64(E_COUNTER_VALUE, counterValue);
        }
        if (flowOut != 0) {
            out.writeFixed64(E_FLOW_IDS, flowOut);
        }
        if (flowIn != 0) {
            out.writeFixed64(E_TERMINATING_FLOW_IDS, flowIn);
        }
    }

    private int entrySize(int i) {
        return CodedOutputStream.computeUInt64Size(1, pendingIid[i]) + CodedOutputStream.computeStringSize(2,
                pendingText[i]);
    }

    // ---- framing -------------------------------------------------------------------------------------------

    private static long processUuid(int pid) {
        return PROCESS_UUID_BASE + pid;
    }

    /** Size of a length-delimited field holding {@code size} bytes. */
    private static int nested(int field, int size) {
        return CodedOutputStream.computeTagSize(field) + CodedOutputStream.computeUInt32SizeNoTag(size) + size;
    }

    private void beginPacket(int size) throws IOException {
        int whole = nested(PACKET, size);
        if (out.spaceLeft() < whole) {
            flush();
            if (buffer.length < whole) { // a packet with a long string in it
                buffer = new byte[2 * whole];
                out = CodedOutputStream.newInstance(buffer);
            }
        }
        beginNested(PACKET, size);
    }

    /** A packet holding a TrackDescriptor of {@code size} bytes, on the sequence; the descriptor follows. */
    private void descriptorPacket(int size) throws IOException {
        beginPacket(CodedOutputStream.computeUInt32Size(P_SEQUENCE_ID, SEQUENCE) + nested(P_TRACK_DESCRIPTOR, size));
        out.writeUInt32(P_SEQUENCE_ID, SEQUENCE);
        beginNested(P_TRACK_DESCRIPTOR, size);
    }

    private void beginNested(int field, int size) throws IOException {
        out.writeTag(field, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(size);
    }
}
