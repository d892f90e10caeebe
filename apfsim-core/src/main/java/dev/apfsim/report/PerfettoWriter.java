package dev.apfsim.report;

import dev.apfsim.guest.Task;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.StreamingSink;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceEvent.*;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Streams a run as a Chrome / Perfetto trace-event JSON file ({@code {"traceEvents":[...]}}), which
 * ui.perfetto.dev and chrome://tracing open. See docs/report.md for what each track shows.
 *
 * <ul>
 * <li>Process "VM": one thread per vCPU with its state as slices, and instants (with flow arrows from each
 * {@code kvm_async_pf_not_present} to its {@code kvm_async_pf_ready}) for the async PF events; one thread per
 * guest task: running / runnable / asleep on token T / sleeping / killed.</li>
 * <li>Process "KVM host workers": one thread per worker slot, a slice per async PF work item from
 * {@code kvm_async_pf_not_present} to {@code kvm_async_pf_completed}, and a counter of outstanding items.</li>
 * <li>Process "backing device": one thread per request slot from {@code apfsim_page_io} start to done, and an
 * in-flight counter (empty while the model does not emit {@code apfsim_page_io}).</li>
 * </ul>
 *
 * <p>Format choices, all for Perfetto's importer: only {@code B}/{@code E}, {@code i}, {@code s}/{@code f},
 * {@code C} and {@code M} phases (no {@code X}: with complete events Perfetto re-sorts events of equal timestamp,
 * which would break the instant-then-flow binding below); every track's events are written in time order; a
 * state slice is written only once it has a non-zero length or something happens inside it; a flow start or end
 * is written right after an instant on the same track and binds to it ({@code "bp":"e"} on the end).
 * {@code ts} is in microseconds with three decimals, i.e. exact nanoseconds. {@code displayTimeUnit} is written
 * after the events (old Perfetto versions took it for the unit of {@code ts} when it came first).
 *
 * <p>Streams with bounded memory: per-track state, outstanding work items and pending flows only.
 * {@link #close()} ends every open slice at the end of the run (or of the events seen, when interrupted) and
 * writes the closing brackets, so a run stopped by Ctrl-C (the CLI's shutdown hook closes the writer) still
 * leaves a valid file.
 */
public final class PerfettoWriter extends StreamingSink {
    @Override
    public boolean wantsTimeline() {
        return true;
    }

    static final int VM_PID = 1000;
    static final int HOST_PID = 2000;
    static final int DEVICE_PID = 3000;
    private static final int VCPU_TID = 1001;
    private static final int TASK_TID = 10000;
    private static final int WORKER_TID = 20000;
    private static final int DEVICE_TID = 30000;
    /** {@code MSR_KVM_ASYNC_PF_ACK}. */
    static final int MSR_ACK = 0x4b564d07;
    static final long WAKE_ALL_TOKEN = 0xffffffffL;
    static final String FLOW_NAME = "not_present → ready";
    static final String FLOW_CAT = "apf";

    /** Fields printed as hex strings in args. */
    private static final Set<String> HEX = Set.of("token", "gva", "gfn", "address", "msr", "data");

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

    /** One thread in the trace, with the state slice currently on it. */
    private static final class Track {
        final int pid;
        final int tid;
        long last;
        String state;      // current state slice name, null for none
        String stateArgs;  // JSON object or null
        String stateCat;
        long since;
        boolean open;      // its B was written

        Track(int pid, int tid) {
            this.pid = pid;
            this.tid = tid;
        }
    }

    private record WorkKey(int vcpu, long gva) {
    }

    private record FlowKey(int vcpu, long token) {
    }

    private final Meta meta;
    private final StringBuilder sb = new StringBuilder(256);
    private boolean started;
    private boolean first = true;
    private long maxTs;
    private final List<Track> vcpus = new ArrayList<>();
    private final List<Track> tasks = new ArrayList<>();
    private final Track global = new Track(VM_PID, VM_PID);
    /** vCPUs whose model emits guest/host states: no guessing their running time. */
    private final List<Boolean> precise = new ArrayList<>();
    private final Map<Integer, Integer> runningOn = new HashMap<>();
    private final Map<Integer, Integer> sleepCpu = new HashMap<>();
    private final List<Track> workers = new ArrayList<>();
    private final List<Boolean> workerBusy = new ArrayList<>();
    private final Map<WorkKey, Integer> work = new HashMap<>();
    private final List<Track> deviceSlots = new ArrayList<>();
    private final List<Boolean> deviceBusy = new ArrayList<>();
    private final Map<Long, Integer> io = new HashMap<>();
    private final Map<FlowKey, Long> flows = new HashMap<>();
    private long nextFlow = 1;
    private long lastCounterTs;

    /** Creates (or truncates) {@code path}. */
    public PerfettoWriter(Path path, Meta meta) throws IOException {
        this(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8), meta);
    }

    /** Writes to {@code out}; {@code name} only names it in error messages. */
    public PerfettoWriter(Object name, Writer out, Meta meta) {
        super("trace file", name, out);
        this.meta = Objects.requireNonNull(meta);
    }

    /** A writer for {@code machine}'s run: vCPUs, task names and the end of the run come from the machine. */
    public static PerfettoWriter open(Path path, Machine machine) throws IOException {
        return new PerfettoWriter(path, meta(machine));
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

    // ---- events ------------------------------------------------------------------------------------------

    @Override
    protected void handle(TraceEvent e) throws IOException {
        start();
        long t = e.time();
        maxTs = Math.max(maxTs, t);
        int v = e.vcpu();
        switch (e) {
            case VcpuState s -> {
                if (!s.state().equals("hlt") && !s.state().equals("apf_halt")) {
                    setPrecise(v);
                }
                vcpuState(v, s.state(), t);
            }
            case SyncFault s -> {
                Track tr = vcpu(v);
                if (tr != null && tr.state != null && tr.state.startsWith("sync")) {
                    setState(tr, null, null, null, t); // back-to-back synchronous faults: one slice each
                }
                vcpuState(v, "sync", t);
            }
            case UserspaceExit u -> {
                instant(vcpu(v), t, "kvm_userspace_exit", args(e));
                vcpuState(v, "stopped", t);
            }
            case NotPresent n -> {
                wake(v, t, e);
                Track tr = vcpu(v);
                instant(tr, t, "kvm_async_pf_not_present", args(e));
                long id = nextFlow++;
                flows.put(new FlowKey(v, n.token()), id);
                flow(tr, t, "s", id);
                workBegin(v, n, t);
            }
            case Ready r -> {
                wake(v, t, e);
                Track tr = vcpu(v);
                if (r.token() == WAKE_ALL_TOKEN) {
                    instant(tr, t, "kvm_async_pf_ready (wake all)", args(e));
                } else {
                    instant(tr, t, "kvm_async_pf_ready", args(e));
                    Long id = flows.remove(new FlowKey(v, r.token()));
                    if (id != null) {
                        flow(tr, t, "f", id);
                    }
                }
            }
            case Completed c -> workEnd(new WorkKey(v, c.gva()), t);
            case QueueCleared q -> {
                instant(vcpu(v), t, "apfsim_apf_queue_cleared", args(e));
                for (Iterator<Map.Entry<WorkKey, Integer>> it = work.entrySet().iterator(); it.hasNext(); ) {
                    Map.Entry<WorkKey, Integer> w = it.next();
                    if (w.getKey().vcpu() == v) {
                        slotFree(workers, workerBusy, w.getValue(), t);
                        it.remove();
                    }
                }
                flows.keySet().removeIf(k -> k.vcpu() == v);
                workCounter(t);
            }
            case RepeatedFault r -> {
                wake(v, t, e);
                instant(vcpu(v), t, "kvm_async_pf_repeated_fault", args(e));
            }
            case Msr m -> {
                wake(v, t, e);
                if (m.write() && m.msr() == MSR_ACK) {
                    instant(vcpu(v), t, "MSR_KVM_ASYNC_PF_ACK write", args(e));
                }
            }
            case WakeupAllQueued w -> {
                wake(v, t, e);
                instant(vcpu(v), t, "apfsim_wakeup_all_queued", args(e));
            }
            case Violation x -> instant(vcpu(v), t, "apfsim_violation: " + x.invariant(), args(e));
            case PageIo p -> pageIo(p, t);
            case GuestPanic p -> {
                instant(vcpu(v), t, "guest_panic", args(e));
                if (v >= 0) {
                    instant(null, t, "guest_panic", args(e));
                }
            }
            case GuestSwitch s -> {
                wake(v, t, e);
                guestSwitch(v, s.prev(), s.next(), t);
            }
            case GuestApfWait w -> {
                wake(v, t, e);
                if (w.dummyConsumed()) {
                    instant(task(w.task()), t, "guest_apf_wait (dummy consumed)", args(e));
                } else {
                    sleepCpu.put(w.task(), v);
                    setState(task(w.task()), "asleep on token " + Json.hex(w.token()),
                            "{\"token\":\"" + Json.hex(w.token()) + "\"}", "task", t);
                }
            }
            case GuestApfWake w -> {
                wake(v, t, e);
                if (w.task() >= 0) {
                    Track tr = task(w.task());
                    if (tr.state != null && tr.state.startsWith("asleep")) {
                        setState(tr, "runnable", null, "task", t);
                    }
                    sleepCpu.remove(w.task());
                } else {
                    instant(vcpu(v), t, "guest_apf_wake (dummy node)", args(e));
                }
            }
            case GuestApfWakeAll w -> {
                wake(v, t, e);
                instant(vcpu(v), t, "guest_apf_wake_all", args(e));
                for (Iterator<Map.Entry<Integer, Integer>> it = sleepCpu.entrySet().iterator(); it.hasNext(); ) {
                    Map.Entry<Integer, Integer> s = it.next();
                    if (s.getValue() == v) {
                        Track tr = task(s.getKey());
                        if (tr.state != null && tr.state.startsWith("asleep")) {
                            setState(tr, "runnable", null, "task", t);
                        }
                        it.remove();
                    }
                }
            }
            case GuestTaskKilled k -> {
                wake(v, t, e);
                Track tr = task(k.task());
                instant(tr, t, "guest_task_killed", args(e));
                setState(tr, "killed (" + k.signal() + ")", null, "task", t);
                runningOn.remove(v, k.task());
                sleepCpu.remove(k.task());
            }
            case GuestPageFault p -> {
                wake(v, t, e);
                if (p.task() >= 0) {
                    instant(task(p.task()), t, "guest_page_fault", args(e));
                }
            }
            default -> wake(v, t, e);
        }
    }

    @Override
    protected void finish() throws IOException {
        start();
        long end = maxTs;
        if (meta.clock() != null) {
            end = Math.max(end, meta.clock().getAsLong());
        }
        for (List<Track> group : List.of(vcpus, tasks, workers, deviceSlots)) {
            for (Track tr : group) {
                setState(tr, null, null, null, end);
            }
        }
        sb.setLength(0);
        sb.append("\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"apfsim\",\"title\":");
        Json.string(sb, meta.title()).append("}}\n");
        write(sb);
    }

    // ---- vCPU states ---------------------------------------------------------------------------------------

    private void vcpuState(int v, String state, long t) throws IOException {
        if (v < 0) {
            return;
        }
        setState(vcpu(v), stateLabel(state), null, "vcpu_state", t);
    }

    /** Human names of {@code apfsim_vcpu_state} states; anything else is shown as emitted. */
    static String stateLabel(String state) {
        return switch (state) {
            case "hlt" -> "idle (hlt)";
            case "apf_halt" -> "synthetic halt (apf)";
            case "sync" -> "sync fault (blocked in GUP)";
            case "guest" -> "guest";
            case "guest_user" -> "guest user";
            case "guest_kernel" -> "guest kernel";
            case "host" -> "host";
            case "stopped" -> "stopped";
            case "running" -> "running (guest or host)";
            default -> state;
        };
    }

    private static boolean blocked(String label) {
        return label != null && (label.startsWith("idle") || label.startsWith("synthetic") || label.startsWith("sync"));
    }

    /**
     * Without guest/host states from the model, a vCPU that shows activity after blocking is running again
     * (guest or host: not told apart). An interrupt reaching a vCPU blocked in a synchronous fault does not
     * wake it.
     */
    private void wake(int v, long t, TraceEvent e) throws IOException {
        if (v < 0 || isPrecise(v)) {
            return;
        }
        TraceEvent.Actor a = e.actor();
        if (a != TraceEvent.Actor.VCPU_THREAD && a != TraceEvent.Actor.GUEST) {
            return;
        }
        Track tr = vcpu(v);
        if (!blocked(tr.state)) {
            return;
        }
        if (e instanceof ApicAcceptIrq && tr.state.startsWith("sync")) {
            return;
        }
        setState(tr, stateLabel("running"), null, "vcpu_state", t);
    }

    private boolean isPrecise(int v) {
        return v < precise.size() && precise.get(v);
    }

    private void setPrecise(int v) throws IOException {
        if (v < 0) {
            return;
        }
        vcpu(v);
        precise.set(v, true);
    }

    // ---- tasks ---------------------------------------------------------------------------------------------

    private void guestSwitch(int cpu, int prev, int next, long t) throws IOException {
        if (prev >= 0) {
            Track p = task(prev);
            if (p.state == null || !(p.state.startsWith("asleep") || p.state.startsWith("killed"))) {
                setState(p, next >= 0 ? "runnable" : "sleeping", null, "task", t);
            }
            runningOn.remove(cpu, prev);
        } else {
            Integer r = runningOn.get(cpu);
            if (r != null && r != next) {
                Track p = task(r);
                if ("running".equals(p.state)) {
                    setState(p, "runnable", null, "task", t); // preempted at the end of an interrupt
                }
                runningOn.remove(cpu);
            }
        }
        if (next >= 0) {
            setState(task(next), "running", null, "task", t);
            runningOn.put(cpu, next);
        }
    }

    // ---- host workers and the backing device ---------------------------------------------------------------

    private void workBegin(int v, NotPresent n, long t) throws IOException {
        WorkKey key = new WorkKey(v, n.gva());
        Integer old = work.remove(key);
        if (old != null) {
            slotFree(workers, workerBusy, old, t);
        }
        int slot = slotTake(workers, workerBusy, HOST_PID, WORKER_TID, "worker ");
        work.put(key, slot);
        setState(workers.get(slot), "async_pf_execute", "{\"token\":\"" + Json.hex(n.token()) + "\",\"gva\":\""
                + Json.hex(n.gva()) + "\",\"vcpu\":" + v + "}", "worker", t);
        workCounter(t);
    }

    private void workEnd(WorkKey key, long t) throws IOException {
        Integer slot = work.remove(key);
        if (slot != null) {
            slotFree(workers, workerBusy, slot, t);
            workCounter(t);
        }
    }

    private void workCounter(long t) throws IOException {
        counter(HOST_PID, t, "async PF work items", "outstanding", work.size());
    }

    private void pageIo(PageIo p, long t) throws IOException {
        if (!p.done()) {
            Integer old = io.remove(p.gfn());
            if (old != null) {
                slotFree(deviceSlots, deviceBusy, old, t);
            }
            int slot = slotTake(deviceSlots, deviceBusy, DEVICE_PID, DEVICE_TID, "request slot ");
            io.put(p.gfn(), slot);
            setState(deviceSlots.get(slot), "page read", "{\"gfn\":\"" + Json.hex(p.gfn()) + "\"}", "device", t);
        } else {
            Integer slot = io.remove(p.gfn());
            if (slot != null) {
                Track tr = deviceSlots.get(slot);
                if (p.failed()) {
                    instant(tr, t, "page read failed", args(p));
                }
                slotFree(deviceSlots, deviceBusy, slot, t);
            }
        }
        counter(DEVICE_PID, t, "backing device", "in_flight", io.size());
    }

    private int slotTake(List<Track> slots, List<Boolean> busy, int pid, int tidBase, String name)
            throws IOException {
        for (int i = 0; i < busy.size(); i++) {
            if (!busy.get(i)) {
                busy.set(i, true);
                return i;
            }
        }
        int i = slots.size();
        if (i == 0) {
            processName(pid, pid == HOST_PID ? "KVM host workers" : "backing device", pid == HOST_PID ? 1 : 2);
        }
        Track tr = new Track(pid, tidBase + i);
        threadName(tr, name + i, i);
        slots.add(tr);
        busy.add(true);
        return i;
    }

    private void slotFree(List<Track> slots, List<Boolean> busy, int i, long t) throws IOException {
        setState(slots.get(i), null, null, null, t);
        busy.set(i, false);
    }

    // ---- tracks --------------------------------------------------------------------------------------------

    private void start() throws IOException {
        if (started) {
            return;
        }
        started = true;
        write("{\"traceEvents\":[\n");
        processName(VM_PID, "VM " + meta.title(), 0);
        for (int v = 0; v < meta.vcpus(); v++) {
            vcpu(v);
        }
        for (int i = 0; i < meta.tasks().size(); i++) {
            task(i);
        }
    }

    /** The track of vCPU {@code v}; null (a global instant) for VM-wide events. */
    private Track vcpu(int v) throws IOException {
        if (v < 0) {
            return null;
        }
        while (vcpus.size() <= v) {
            int i = vcpus.size();
            Track tr = new Track(VM_PID, VCPU_TID + i);
            threadName(tr, "vCPU " + i, i);
            vcpus.add(tr);
            precise.add(false);
            tr.state = stateLabel("running"); // the vCPU thread starts at time 0
            tr.stateCat = "vcpu_state";
            tr.since = 0;
        }
        return vcpus.get(v);
    }

    private Track task(int id) throws IOException {
        while (tasks.size() <= id) {
            int i = tasks.size();
            Track tr = new Track(VM_PID, TASK_TID + i);
            String label = i < meta.tasks().size() ? meta.tasks().get(i) : "task " + i;
            threadName(tr, "task " + label, 1000 + i);
            tasks.add(tr);
            tr.state = "runnable"; // tasks are queued when the machine is built
            tr.stateCat = "task";
            tr.since = 0;
        }
        return tasks.get(id);
    }

    /**
     * Ends the track's current state at {@code t} and starts {@code state} (null: none). A state is only written
     * when it has a length or something is drawn inside it, so equal-time changes leave no empty slices.
     */
    private void setState(Track tr, String state, String args, String cat, long t) throws IOException {
        t = Math.max(t, tr.last);
        if (Objects.equals(state, tr.state) && Objects.equals(args, tr.stateArgs)) {
            return;
        }
        if (tr.state != null) {
            if (!tr.open && t > tr.since) {
                begin(tr);
            }
            if (tr.open) {
                end(tr, t);
            }
        }
        tr.state = state;
        tr.stateArgs = args;
        tr.stateCat = cat;
        tr.since = t;
        tr.open = false;
        tr.last = t;
    }

    /** Writes the pending state's B, so what follows on this track nests inside it. */
    private void openState(Track tr) throws IOException {
        if (tr.state != null && !tr.open) {
            begin(tr);
        }
    }

    // ---- JSON ----------------------------------------------------------------------------------------------

    private void begin(Track tr) throws IOException {
        long ts = Math.max(tr.since, tr.last);
        event("B", tr.pid, tr.tid, ts);
        sb.append(",\"name\":");
        Json.string(sb, tr.state).append(",\"cat\":");
        Json.string(sb, tr.stateCat == null ? "state" : tr.stateCat);
        if (tr.stateArgs != null) {
            sb.append(",\"args\":").append(tr.stateArgs);
        }
        emit();
        tr.open = true;
        tr.last = ts;
    }

    private void end(Track tr, long t) throws IOException {
        event("E", tr.pid, tr.tid, t);
        emit();
        tr.open = false;
        tr.last = t;
    }

    /** An instant on {@code tr} (null: a global instant). */
    private void instant(Track tr, long t, String name, String args) throws IOException {
        Track target = tr == null ? global : tr;
        t = Math.max(t, target.last);
        if (tr != null) {
            openState(tr);
            t = Math.max(t, tr.last);
        }
        event("i", target.pid, target.tid, t);
        sb.append(",\"s\":\"").append(tr == null ? 'g' : 't').append("\",\"name\":");
        Json.string(sb, name).append(",\"cat\":\"apf\"");
        if (args != null) {
            sb.append(",\"args\":").append(args);
        }
        emit();
        target.last = t;
    }

    private void flow(Track tr, long t, String ph, long id) throws IOException {
        if (tr == null) {
            return;
        }
        t = Math.max(t, tr.last);
        event(ph, tr.pid, tr.tid, t);
        sb.append(",\"id\":").append(id).append(",\"name\":");
        Json.string(sb, FLOW_NAME).append(",\"cat\":\"").append(FLOW_CAT).append('"');
        if (ph.equals("f")) {
            sb.append(",\"bp\":\"e\"");
        }
        emit();
        tr.last = t;
    }

    private void counter(int pid, long t, String name, String key, long value) throws IOException {
        t = Math.max(t, lastCounterTs);
        lastCounterTs = t;
        event("C", pid, pid, t);
        sb.append(",\"name\":");
        Json.string(sb, name).append(",\"args\":{");
        Json.string(sb, key).append(':').append(value).append('}');
        emit();
    }

    private void processName(int pid, String name, int sort) throws IOException {
        metadata("process_name", pid, pid, "name", name);
        metadata("process_sort_index", pid, pid, "sort_index", sort);
    }

    private void threadName(Track tr, String name, int sort) throws IOException {
        metadata("thread_name", tr.pid, tr.tid, "name", name);
        metadata("thread_sort_index", tr.pid, tr.tid, "sort_index", sort);
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
        write(sb);
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
        write(sb);
    }

    /** The event's own fields as a JSON object, addresses and tokens in hex. */
    static String args(TraceEvent e) {
        StringBuilder a = new StringBuilder(96).append("{\"vcpu\":").append(e.vcpu());
        for (EventFields.Field f : EventFields.of(e.getClass())) {
            a.append(',');
            Json.string(a, f.name()).append(':');
            Object v = f.get(e);
            if (HEX.contains(f.name()) && v instanceof Number n) {
                Json.string(a, Json.hex(n.longValue()));
            } else if (v instanceof String s) {
                Json.string(a, s);
            } else {
                a.append(v);
            }
        }
        return a.append('}').toString();
    }
}
