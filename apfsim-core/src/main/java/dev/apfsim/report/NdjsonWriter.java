package dev.apfsim.report;

import dev.apfsim.trace.LineWriter;
import dev.apfsim.trace.TraceEvent;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The structured event log (docs/events.md): one JSON object per line per event,
 * <pre>{"t_ns":50039000,"name":"kvm_async_pf_ready","vcpu":0,"actor":"vcpu_thread","token":4096,"gva":3145728}</pre>
 * that is simulated time in ns, event name, vCPU (-1: VM-wide), who emitted it, then the record's own fields in
 * declaration order with snake_case names ({@link EventFields}). Streams: memory is the write buffer, and each line
 * is handed to the writer whole, so a file closed by {@link #close()} (also from a Ctrl-C shutdown hook) ends in a
 * complete line.
 */
public final class NdjsonWriter extends LineWriter {
    @Override
    public boolean wantsTimeline() {
        return true;
    }


    /** Creates (or truncates) {@code path}. */
    public NdjsonWriter(Path path) throws IOException {
        this(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    /** Writes to {@code out}; {@code name} only names it in error messages. */
    public NdjsonWriter(Object name, Writer out) {
        super("event log", name, out);
    }

    /** The line for one event, without the newline. */
    public static String line(TraceEvent e) {
        StringBuilder sb = new StringBuilder(200);
        append(sb, e);
        return sb.toString();
    }

    static void append(StringBuilder sb, TraceEvent e) {
        sb.append("{\"t_ns\":").append(e.time()).append(",\"name\":");
        Json.string(sb, e.name()).append(",\"vcpu\":").append(e.vcpu()).append(",\"actor\":");
        Json.string(sb, actor(e.actor()));
        EventFields.appendJson(sb, e);
        sb.append('}');
    }

    /** {@code VCPU_THREAD} → {@code vcpu_thread}. */
    public static String actor(TraceEvent.Actor a) {
        return a.name().toLowerCase();
    }

    @Override
    protected void format(StringBuilder sb, TraceEvent e, int hostCpu) {
        append(sb, e);
    }
}
