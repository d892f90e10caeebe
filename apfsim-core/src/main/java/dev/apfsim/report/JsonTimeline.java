package dev.apfsim.report;

import dev.apfsim.trace.TraceEvent;

import java.io.IOException;
import java.util.List;

/**
 * The Chrome / Perfetto trace-event JSON encoding ({@code {"traceEvents":[...]}}), which ui.perfetto.dev and
 * chrome://tracing open.
 *
 * <p>Format choices, all for Perfetto's JSON importer: only {@code B}/{@code E}, {@code i}, {@code s}/{@code f},
 * {@code C} and {@code M} phases (no {@code X}: with complete events Perfetto re-sorts events of equal timestamp,
 * which would break the instant-then-flow binding); a flow start or end is written right after its instant on the
 * same track and binds to it ({@code "bp":"e"} on the end). {@code ts} is in microseconds with three decimals,
 * i.e. exact nanoseconds. {@code displayTimeUnit} is written after the events (old Perfetto versions took it for
 * the unit of {@code ts} when it came first).
 */
final class JsonTimeline implements TimelineEncoder {
    /** Where the text goes: the sink's write, under its lock. */
    interface Out {
        void write(CharSequence s) throws IOException;
    }

    private final Out out;
    private final StringBuilder sb = new StringBuilder(256);
    private boolean first = true;

    JsonTimeline(Out out) {
        this.out = out;
    }

    @Override
    public void start() throws IOException {
        out.write("{\"traceEvents\":[\n");
    }

    @Override
    public void process(int pid, String name, int sort) throws IOException {
        metadata("process_name", pid, pid, "name", name);
        metadata("process_sort_index", pid, pid, "sort_index", sort);
    }

    @Override
    public void thread(Timeline.Track tr, String name, int sort) throws IOException {
        metadata("thread_name", tr.pid, tr.tid, "name", name);
        metadata("thread_sort_index", tr.pid, tr.tid, "sort_index", sort);
    }

    @Override
    public void begin(Timeline.Track tr, long ts, String name, String category, List<Timeline.Arg> args)
            throws IOException {
        event("B", tr.pid, tr.tid, ts);
        sb.append(",\"name\":");
        Json.string(sb, name).append(",\"cat\":");
        Json.string(sb, category);
        if (args != null) {
            sb.append(",\"args\":{");
            for (int i = 0; i < args.size(); i++) {
                Timeline.Arg a = args.get(i);
                if (i > 0) {
                    sb.append(',');
                }
                Json.string(sb, a.key()).append(':');
                if (a.hex()) {
                    Json.string(sb, Json.hex(a.value()));
                } else {
                    sb.append(a.value());
                }
            }
            sb.append('}');
        }
        emit();
    }

    @Override
    public void end(Timeline.Track tr, long ts) throws IOException {
        event("E", tr.pid, tr.tid, ts);
        emit();
    }

    @Override
    public void instant(Timeline.Track tr, long ts, String name, TraceEvent e, long flowOut, long flowIn)
            throws IOException {
        event("i", tr.pid, tr.tid, ts);
        sb.append(",\"s\":\"").append(tr.global() ? 'g' : 't').append("\",\"name\":");
        Json.string(sb, name).append(",\"cat\":\"apf\"");
        if (e != null) {
            sb.append(",\"args\":");
            args(sb, e);
        }
        emit();
        if (flowOut != 0) {
            flow(tr, ts, "s", flowOut);
        }
        if (flowIn != 0) {
            flow(tr, ts, "f", flowIn);
        }
    }

    private void flow(Timeline.Track tr, long ts, String ph, long id) throws IOException {
        event(ph, tr.pid, tr.tid, ts);
        sb.append(",\"id\":").append(id).append(",\"name\":");
        Json.string(sb, Timeline.FLOW_NAME).append(",\"cat\":\"").append(Timeline.FLOW_CAT).append('"');
        if (ph.equals("f")) {
            sb.append(",\"bp\":\"e\"");
        }
        emit();
    }

    @Override
    public void counter(Timeline.CounterTrack c, long ts, long value) throws IOException {
        event("C", c.pid, c.pid, ts);
        sb.append(",\"name\":");
        Json.string(sb, c.name).append(",\"args\":{");
        Json.string(sb, c.key).append(':').append(value).append('}');
        emit();
    }

    @Override
    public void finish(String title) throws IOException {
        sb.setLength(0);
        sb.append("\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"apfsim\",\"title\":");
        Json.string(sb, title).append("}}\n");
        out.write(sb);
    }

    private void metadata(String what, int pid, int tid, String key, Object value) throws IOException {
        separator();
        sb.append("{\"ph\":\"M\",\"name\":\"").append(what).append("\",\"pid\":").append(pid).append(",\"tid\":")
                .append(tid).append(",\"args\":{\"").append(key).append("\":");
        if (value instanceof String s) {
            Json.string(sb, s);
        } else {
            sb.append(value);
        }
        sb.append("}}");
        out.write(sb);
    }

    private void event(String ph, int pid, int tid, long t) {
        separator();
        sb.append("{\"ph\":\"").append(ph).append("\",\"ts\":");
        Json.micros(sb, t).append(",\"pid\":").append(pid).append(",\"tid\":").append(tid);
    }

    private void separator() {
        sb.setLength(0);
        if (first) {
            first = false;
        } else {
            sb.append(",\n");
        }
    }

    private void emit() throws IOException {
        sb.append('}');
        out.write(sb);
    }

    /** The event's own fields as a JSON object, addresses and tokens in hex. */
    static StringBuilder args(StringBuilder a, TraceEvent e) {
        a.append("{\"vcpu\":").append(e.vcpu());
        List<EventFields.Field> fields = EventFields.of(e.getClass());
        for (int i = 0; i < fields.size(); i++) {
            EventFields.Field f = fields.get(i);
            a.append(f.jsonKey());
            switch (f.kind()) {
                case INTEGER -> {
                    if (HEX.contains(f.name())) {
                        a.append("\"0x");
                        dev.apfsim.trace.FtraceFormat.appendHexDigits(a, f.getLong(e));
                        a.append('"');
                    } else {
                        a.append(f.getLong(e));
                    }
                }
                case BOOLEAN -> a.append(f.getBoolean(e));
                case STRING -> {
                    String str = f.getString(e);
                    if (str == null) {
                        a.append("null");
                    } else {
                        Json.string(a, str);
                    }
                }
                case OTHER -> {
                    Object v = f.get(e);
                    if (v instanceof String s) {
                        Json.string(a, s);
                    } else {
                        a.append(v);
                    }
                }
            }
        }
        return a.append('}');
    }
}
