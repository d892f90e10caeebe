package dev.apfsim.report;

import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceEvent.*;
import dev.apfsim.trace.TraceFilter;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the Perfetto traces draw, whatever their encoding (JSON or protobuf, a {@link TimelineEncoder}): turns the
 * run's events into tracks with state slices, instants, flows and counters. See docs/report.md for the tracks.
 *
 * <p>Every track's output is in time order; a state slice is written only once it has a non-zero length or
 * something happens inside it; a flow starts at a {@code kvm_async_pf_not_present} instant and ends at the
 * {@code kvm_async_pf_ready} of the same token. With a {@link TraceFilter}, the model still follows every event
 * (so states are right at the window's start) but writes only the window, slices cut at its edges, and only the
 * kept vCPUs, tasks and the work items and device reads they started.
 *
 * <p>Bounded memory: per-track state, outstanding work items and pending flows only.
 */
final class Timeline {
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

    /** One argument of a state slice (instants carry their event's own fields instead). */
    record Arg(String key, long value, boolean hex) {
    }

    /** One thread in the trace (or the global track, id 0), with the state slice currently on it. */
    static final class Track {
        final int pid;
        final int tid;
        /** Small and unique in the trace: the protobuf track uuid; 0 is the global track. */
        final int id;
        /** Drawn in this trace (a filter may leave a vCPU or a task out). */
        final boolean selected;
        long last;
        String state;        // current state slice name, null for none
        List<Arg> stateArgs; // or null
        String stateCat;
        long since;
        boolean open;        // its begin is done (written, or before the window)
        boolean emitted;     // its begin reached the encoder

        Track(int pid, int tid, int id, boolean selected) {
            this.pid = pid;
            this.tid = tid;
            this.id = id;
            this.selected = selected;
        }

        boolean global() {
            return id == 0;
        }
    }

    /** A counter track: the latest value, written at the window's start when it was set before. */
    static final class CounterTrack {
        final int pid;
        final String name;
        final String key;
        final int id;
        long value;
        boolean set;

        CounterTrack(int pid, String name, String key, int id) {
            this.pid = pid;
            this.name = name;
            this.key = key;
            this.id = id;
        }
    }

    private record WorkKey(int vcpu, long gva) {
    }

    private record FlowKey(int vcpu, long token) {
    }

    private final PerfettoWriter.Meta meta;
    private final TraceFilter filter;
    private final TimelineEncoder out;
    private boolean started;
    private boolean entered;
    private boolean closed;
    private long maxTs;
    private int nextId = 1;
    private final List<Track> vcpus = new ArrayList<>();
    private final List<Track> tasks = new ArrayList<>();
    private final Track global = new Track(VM_PID, VM_PID, 0, true);
    /** vCPUs whose model emits guest/host states: no guessing their running time. */
    private final List<Boolean> precise = new ArrayList<>();
    /** The task running on each CPU, and the CPU each task sleeps on a token on (-1: none). */
    private int[] runningOn = new int[0];
    private int[] sleepCpu = new int[0];
    private final List<Track> workers = new ArrayList<>();
    private final List<Boolean> workerBusy = new ArrayList<>();
    /** Outstanding work items and their worker slot (-1: left out by the filter). */
    private final Map<WorkKey, Integer> work = new HashMap<>();
    private final List<Track> deviceSlots = new ArrayList<>();
    private final List<Boolean> deviceBusy = new ArrayList<>();
    private final Map<Long, Integer> io = new HashMap<>();
    private final Map<FlowKey, Long> flows = new HashMap<>();
    private long nextFlow = 1;
    private long lastCounterTs;
    private boolean hostAnnounced;
    private boolean deviceAnnounced;
    private CounterTrack workCounter;
    private CounterTrack deviceCounter;

    Timeline(PerfettoWriter.Meta meta, TraceFilter filter, TimelineEncoder out) {
        this.meta = Objects.requireNonNull(meta);
        this.filter = Objects.requireNonNull(filter);
        this.out = Objects.requireNonNull(out);
    }

    // ---- events ------------------------------------------------------------------------------------------

    void handle(TraceEvent e) throws IOException {
        start();
        if (closed) {
            return;
        }
        long t = e.time();
        if (t >= filter.to()) {
            closeWindow(filter.to());
            return;
        }
        boolean keep = filter.keep(e);
        if (!entered && t >= filter.from()) {
            enterWindow();
        }
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
                instant(vcpu(v), t, "kvm_userspace_exit", e, keep, 0, 0);
                vcpuState(v, "stopped", t);
            }
            case NotPresent n -> {
                wake(v, t, e);
                long id = nextFlow;
                if (instant(vcpu(v), t, "kvm_async_pf_not_present", e, keep, id, 0)) {
                    nextFlow++;
                    flows.put(new FlowKey(v, n.token()), id);
                }
                workBegin(v, n, t, keep);
            }
            case Ready r -> {
                wake(v, t, e);
                Track tr = vcpu(v);
                if (r.token() == WAKE_ALL_TOKEN) {
                    instant(tr, t, "kvm_async_pf_ready (wake all)", e, keep, 0, 0);
                } else {
                    Long id = flows.remove(new FlowKey(v, r.token()));
                    instant(tr, t, "kvm_async_pf_ready", e, keep, 0, id == null ? 0 : id);
                }
            }
            case Completed c -> workEnd(new WorkKey(v, c.gva()), t);
            case QueueCleared q -> {
                instant(vcpu(v), t, "apfsim_apf_queue_cleared", e, keep, 0, 0);
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
                instant(vcpu(v), t, "kvm_async_pf_repeated_fault", e, keep, 0, 0);
            }
            case Msr m -> {
                wake(v, t, e);
                if (m.write() && m.msr() == MSR_ACK) {
                    instant(vcpu(v), t, "MSR_KVM_ASYNC_PF_ACK write", e, keep, 0, 0);
                }
            }
            case WakeupAllQueued w -> {
                wake(v, t, e);
                instant(vcpu(v), t, "apfsim_wakeup_all_queued", e, keep, 0, 0);
            }
            case Violation x -> instant(vcpu(v), t, "apfsim_violation: " + x.invariant(), e, keep, 0, 0);
            case PageIo p -> pageIo(p, t, keep);
            case GuestPanic p -> {
                instant(vcpu(v), t, "guest_panic", e, keep, 0, 0);
                if (v >= 0) {
                    instant(null, t, "guest_panic", e, keep, 0, 0);
                }
            }
            case GuestSwitch s -> {
                wake(v, t, e);
                guestSwitch(v, s.prev(), s.next(), t);
            }
            case GuestApfWait w -> {
                wake(v, t, e);
                if (w.dummyConsumed()) {
                    instant(task(w.task()), t, "guest_apf_wait (dummy consumed)", e, keep, 0, 0);
                } else {
                    sleepCpu = set(sleepCpu, w.task(), v);
                    setState(task(w.task()), "asleep on token " + Json.hex(w.token()),
                            List.of(new Arg("token", w.token(), true)), "task", t);
                }
            }
            case GuestApfWake w -> {
                wake(v, t, e);
                if (w.task() >= 0) {
                    Track tr = task(w.task());
                    if (tr.state != null && tr.state.startsWith("asleep")) {
                        setState(tr, "runnable", null, "task", t);
                    }
                    sleepCpu = set(sleepCpu, w.task(), -1);
                } else {
                    instant(vcpu(v), t, "guest_apf_wake (dummy node)", e, keep, 0, 0);
                }
            }
            case GuestApfWakeAll w -> {
                wake(v, t, e);
                instant(vcpu(v), t, "guest_apf_wake_all", e, keep, 0, 0);
                for (int task = 0; task < sleepCpu.length; task++) {
                    if (sleepCpu[task] == v) {
                        Track tr = task(task);
                        if (tr.state != null && tr.state.startsWith("asleep")) {
                            setState(tr, "runnable", null, "task", t);
                        }
                        sleepCpu[task] = -1;
                    }
                }
            }
            case GuestTaskKilled k -> {
                wake(v, t, e);
                Track tr = task(k.task());
                instant(tr, t, "guest_task_killed", e, keep, 0, 0);
                setState(tr, "killed (" + k.signal() + ")", null, "task", t);
                if (v >= 0 && get(runningOn, v) == k.task()) {
                    runningOn[v] = -1;
                }
                sleepCpu = set(sleepCpu, k.task(), -1);
            }
            case GuestPageFault p -> {
                wake(v, t, e);
                if (p.task() >= 0) {
                    instant(task(p.task()), t, "guest_page_fault", e, keep, 0, 0);
                }
            }
            default -> wake(v, t, e);
        }
    }

    /** Ends every open slice at the end of the run (or of the window) and writes the file's end. */
    void finish() throws IOException {
        start();
        if (!closed) {
            long end = maxTs;
            if (meta.clock() != null) {
                end = Math.max(end, meta.clock().getAsLong());
            }
            end = Math.min(end, filter.to());
            if (!entered && end <= filter.from()) {
                closed = true; // the run ended before the window
            } else {
                closeWindow(end);
            }
        }
        out.finish(meta.title());
    }

    // ---- the window ----------------------------------------------------------------------------------------

    /** The first event at or after the window's start: what is going on then starts at the window's start. */
    private void enterWindow() throws IOException {
        entered = true;
        long from = filter.from();
        for (List<Track> group : List.of(vcpus, tasks, workers, deviceSlots)) {
            for (Track tr : group) {
                if (tr.state != null && tr.selected && (tr.open || tr.since < from)) {
                    out.begin(tr, from, tr.state, category(tr), tr.stateArgs);
                    tr.open = true;
                    tr.emitted = true;
                    tr.last = Math.max(tr.last, from);
                }
            }
        }
        for (CounterTrack c : new CounterTrack[]{workCounter, deviceCounter}) {
            if (c != null && c.set) {
                announce(c.pid);
                out.counter(c, from, c.value);
            }
        }
        lastCounterTs = Math.max(lastCounterTs, from);
    }

    /** The first event at or after the window's end: every open slice ends there and nothing more is written. */
    private void closeWindow(long to) throws IOException {
        if (!entered) {
            enterWindow();
        }
        for (List<Track> group : List.of(vcpus, tasks, workers, deviceSlots)) {
            for (Track tr : group) {
                setState(tr, null, null, null, to);
            }
        }
        closed = true;
    }

    private boolean writing(Track tr) {
        return entered && !closed && tr.selected;
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
            case "preempted" -> "preempted (host CPU busy)";
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
            if (get(runningOn, cpu) == prev) {
                runningOn[cpu] = -1;
            }
        } else {
            int r = get(runningOn, cpu);
            if (r >= 0 && r != next) {
                Track p = task(r);
                if ("running".equals(p.state)) {
                    setState(p, "runnable", null, "task", t); // preempted at the end of an interrupt
                }
                runningOn[cpu] = -1;
            }
        }
        if (next >= 0) {
            setState(task(next), "running", null, "task", t);
            runningOn = set(runningOn, cpu, next);
        }
    }

    private static int get(int[] a, int i) {
        return i >= 0 && i < a.length ? a[i] : -1;
    }

    /** {@code a[i] = v}, growing {@code a} (new entries -1) as needed. */
    private static int[] set(int[] a, int i, int v) {
        if (i < 0) {
            return a;
        }
        if (i >= a.length) {
            int old = a.length;
            a = java.util.Arrays.copyOf(a, Math.max(i + 1, 2 * old));
            java.util.Arrays.fill(a, old, a.length, -1);
        }
        a[i] = v;
        return a;
    }

    // ---- host workers and the backing device ---------------------------------------------------------------

    private void workBegin(int v, NotPresent n, long t, boolean keep) throws IOException {
        WorkKey key = new WorkKey(v, n.gva());
        Integer old = work.remove(key);
        if (old != null) {
            slotFree(workers, workerBusy, old, t);
        }
        int slot = keep ? slotTake(workers, workerBusy, HOST_PID, WORKER_TID, "worker ") : -1;
        work.put(key, slot);
        if (slot >= 0) {
            setState(workers.get(slot), "async_pf_execute", List.of(new Arg("token", n.token(), true),
                    new Arg("gva", n.gva(), true), new Arg("vcpu", v, false)), "worker", t);
        }
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
        if (workCounter == null) {
            workCounter = new CounterTrack(HOST_PID, "async PF work items", "outstanding", nextId++);
        }
        counter(workCounter, t, work.size());
    }

    private void pageIo(PageIo p, long t, boolean keep) throws IOException {
        if (!p.done()) {
            Integer old = io.remove(p.gfn());
            if (old != null) {
                slotFree(deviceSlots, deviceBusy, old, t);
            }
            int slot = keep ? slotTake(deviceSlots, deviceBusy, DEVICE_PID, DEVICE_TID, "request slot ") : -1;
            io.put(p.gfn(), slot);
            if (slot >= 0) {
                setState(deviceSlots.get(slot), "page read", List.of(new Arg("gfn", p.gfn(), true)), "device", t);
            }
        } else {
            Integer slot = io.remove(p.gfn());
            if (slot != null && slot >= 0) {
                Track tr = deviceSlots.get(slot);
                if (p.failed()) {
                    instant(tr, t, "page read failed", p, keep, 0, 0);
                }
                slotFree(deviceSlots, deviceBusy, slot, t);
            }
        }
        if (deviceCounter == null) {
            deviceCounter = new CounterTrack(DEVICE_PID, "backing device", "in_flight", nextId++);
        }
        counter(deviceCounter, t, io.size());
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
        announce(pid);
        Track tr = new Track(pid, tidBase + i, nextId++, true);
        out.thread(tr, name + i, i);
        slots.add(tr);
        busy.add(true);
        return i;
    }

    /** Names the host-workers or device process before its first track or counter value. */
    private void announce(int pid) throws IOException {
        boolean host = pid == HOST_PID;
        if (host ? !hostAnnounced : !deviceAnnounced) {
            if (host) {
                hostAnnounced = true;
            } else {
                deviceAnnounced = true;
            }
            out.process(pid, pid == HOST_PID ? "KVM host workers" : "backing device", pid == HOST_PID ? 1 : 2);
        }
    }

    private void slotFree(List<Track> slots, List<Boolean> busy, int i, long t) throws IOException {
        if (i < 0) {
            return;
        }
        setState(slots.get(i), null, null, null, t);
        busy.set(i, false);
    }

    // ---- tracks --------------------------------------------------------------------------------------------

    private void start() throws IOException {
        if (started) {
            return;
        }
        started = true;
        entered = filter.from() == 0;
        out.start();
        out.process(VM_PID, "VM " + meta.title(), 0);
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
            Track tr = new Track(VM_PID, VCPU_TID + i, nextId++, filter.keepsVcpu(i));
            if (tr.selected) {
                out.thread(tr, "vCPU " + i, i);
            }
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
            Track tr = new Track(VM_PID, TASK_TID + i, nextId++, filter.keepsTask(i));
            String label = i < meta.tasks().size() ? meta.tasks().get(i) : "task " + i;
            if (tr.selected) {
                out.thread(tr, "task " + label, 1000 + i);
            }
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
    private void setState(Track tr, String state, List<Arg> args, String cat, long t) throws IOException {
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

    /** Writes the pending state's begin, so what follows on this track nests inside it. */
    private void openState(Track tr) throws IOException {
        if (tr.state != null && !tr.open) {
            begin(tr);
        }
    }

    private static String category(Track tr) {
        return tr.stateCat == null ? "state" : tr.stateCat;
    }

    // ---- output --------------------------------------------------------------------------------------------

    private void begin(Track tr) throws IOException {
        long ts = Math.max(tr.since, tr.last);
        if (writing(tr)) {
            out.begin(tr, ts, tr.state, category(tr), tr.stateArgs);
            tr.emitted = true;
        }
        tr.open = true;
        tr.last = ts;
    }

    private void end(Track tr, long t) throws IOException {
        if (tr.emitted) {
            out.end(tr, t);
            tr.emitted = false;
        }
        tr.open = false;
        tr.last = t;
    }

    /**
     * An instant on {@code tr} (null: a global instant) with {@code e}'s fields as arguments, starting flow
     * {@code flowOut} and/or ending {@code flowIn} (0: none). Returns whether it was written.
     */
    private boolean instant(Track tr, long t, String name, TraceEvent e, boolean keep, long flowOut, long flowIn)
            throws IOException {
        Track target = tr == null ? global : tr;
        t = Math.max(t, target.last);
        if (tr != null) {
            openState(tr);
            t = Math.max(t, tr.last);
        }
        target.last = t;
        if (!keep || !writing(target)) {
            return false;
        }
        out.instant(target, t, name, e, flowOut, flowIn);
        return true;
    }

    private void counter(CounterTrack c, long t, long value) throws IOException {
        t = Math.max(t, lastCounterTs);
        lastCounterTs = t;
        c.value = value;
        c.set = true;
        if (entered && !closed) {
            announce(c.pid);
            out.counter(c, t, value);
        }
    }
}
