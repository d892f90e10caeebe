package dev.apfsim.report;

import dev.apfsim.guest.Task;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.StreamingSink;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceFilter;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Streams a run as a Chrome / Perfetto trace-event JSON file ({@code {"traceEvents":[...]}}), which
 * ui.perfetto.dev and chrome://tracing open; {@link PerfettoProtoWriter} writes the same tracks as Perfetto's
 * native protobuf, several times smaller. See docs/report.md for what each track shows, {@link Timeline} for how
 * they are drawn and {@link JsonTimeline} for the format choices.
 *
 * <ul>
 * <li>Process "VM": one thread per vCPU with its state as slices, and instants (with flow arrows from each
 * {@code kvm_async_pf_not_present} to its {@code kvm_async_pf_ready}) for the async PF events; one thread per
 * guest task: running / runnable / asleep on token T / sleeping / killed.</li>
 * <li>Process "KVM host workers": one thread per worker slot, a slice per async PF work item from
 * {@code kvm_async_pf_not_present} to {@code kvm_async_pf_completed}, and a counter of outstanding items.</li>
 * <li>Process "backing device": one thread per request slot from {@code apfsim_page_io} start to done, and an
 * in-flight counter.</li>
 * </ul>
 *
 * <p>Streams with bounded memory. {@link #close()} ends every open slice at the end of the run (or of the events
 * seen, when interrupted) and writes the closing brackets, so a run stopped by Ctrl-C (the CLI's shutdown hook
 * closes the writer) still leaves a valid file.
 */
public final class PerfettoWriter extends StreamingSink {
    static final int VM_PID = Timeline.VM_PID;
    static final int HOST_PID = Timeline.HOST_PID;
    static final int DEVICE_PID = Timeline.DEVICE_PID;
    static final int MSR_ACK = Timeline.MSR_ACK;

    /**
     * What the writer knows before the first event.
     *
     * @param title process label, e.g. the scenario name and seed
     * @param vcpus number of vCPUs (tracks are also created for vCPUs seen later)
     * @param tasks one label per guest task id
     * @param clock simulated time now, read when closing to end open slices at the end of the run; may be null
     */
    public record Meta(String title, int vcpus, List<String> tasks, LongSupplier clock) {
        public Meta {
            tasks = List.copyOf(tasks);
        }
    }

    private final Timeline timeline;

    /** Creates (or truncates) {@code path}. */
    public PerfettoWriter(Path path, Meta meta) throws IOException {
        this(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8), meta, TraceFilter.ALL_EVENTS);
    }

    /** Writes to {@code out}; {@code name} only names it in error messages. */
    public PerfettoWriter(Object name, Writer out, Meta meta) {
        this(name, out, meta, TraceFilter.ALL_EVENTS);
    }

    /** Writes what {@code filter} keeps to {@code out}. */
    public PerfettoWriter(Object name, Writer out, Meta meta, TraceFilter filter) {
        super("trace file", name, out);
        this.timeline = new Timeline(meta, filter, new JsonTimeline(this::write));
    }

    @Override
    public boolean wantsTimeline() {
        return true;
    }

    /** A writer for {@code machine}'s run: vCPUs, task names and the end of the run come from the machine. */
    public static PerfettoWriter open(Path path, Machine machine) throws IOException {
        return open(path, machine, TraceFilter.ALL_EVENTS);
    }

    /** A writer for {@code machine}'s run keeping what {@code filter} keeps. */
    public static PerfettoWriter open(Path path, Machine machine, TraceFilter filter) throws IOException {
        return new PerfettoWriter(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8), meta(machine), filter);
    }

    /** The {@link Meta} of a machine about to run. */
    public static Meta meta(Machine machine) {
        List<String> names = new ArrayList<>();
        for (Task t : machine.guest().tasks()) {
            names.add(t.name + " (cpu " + t.cpu + ")");
        }
        var s = machine.scenario();
        return new Meta(s.name() + " (seed " + s.seed() + ")", s.vcpus(), names, () -> machine.simulator().now());
    }

    @Override
    protected void handle(TraceEvent e) throws IOException {
        timeline.handle(e);
    }

    @Override
    protected void finish() throws IOException {
        timeline.finish();
    }
}
