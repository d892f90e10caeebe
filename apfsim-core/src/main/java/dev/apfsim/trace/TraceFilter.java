package dev.apfsim.trace;

import dev.apfsim.trace.TraceEvent.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What a trace output keeps ({@code --trace-window FROM..TO}, {@code --trace-filter vcpu=0,2 task=oltp*}): events
 * in {@code [from, to)} of simulated time that belong to a kept vCPU and a kept task. Outputs only; the run, its
 * results and its fingerprint never see it.
 *
 * <p>An event belongs to the task it names (a guest event about task 3, a context switch from or to it) or else to
 * the task current on its CPU when it happens; a page-ready (with its interrupt and the guest's ACK), the
 * completion of a work item and a device read belong to the task (and vCPU) whose fault started them, so a task's
 * whole async PF round trip is kept. VM-wide
 * events (vCPU -1: violations, panics) are always kept inside the window.
 *
 * <p>Stateful: {@link #keep} must see every event of the run, in order (it follows context switches and
 * outstanding faults, with memory bounded by the faults in flight). One instance per output.
 */
public final class TraceFilter {
    /** A guest task as the filter needs it: name (matched by the globs) and CPU. */
    public record TaskRef(String name, int cpu) {
    }

    /** What the user asked for; {@code vcpus} and {@code taskGlobs} empty mean all. */
    public record Selection(long fromNs, long toNs, List<Integer> vcpus, List<String> taskGlobs) {
        public static final Selection ALL = new Selection(0, Long.MAX_VALUE, List.of(), List.of());

        public Selection {
            if (fromNs < 0 || toNs <= fromNs) {
                throw new IllegalArgumentException("empty trace window " + fromNs + ".." + toNs);
            }
            vcpus = List.copyOf(vcpus);
            taskGlobs = List.copyOf(taskGlobs);
        }

        public boolean isAll() {
            return fromNs == 0 && toNs == Long.MAX_VALUE && vcpus.isEmpty() && taskGlobs.isEmpty();
        }

        public Selection withWindow(long from, long to) {
            return new Selection(from, to, vcpus, taskGlobs);
        }

        public Selection withVcpus(List<Integer> v) {
            return new Selection(fromNs, toNs, v, taskGlobs);
        }

        public Selection withTasks(List<String> globs) {
            return new Selection(fromNs, toNs, vcpus, globs);
        }

        /** Whether {@code name} matches one of the globs ({@code *} any run of characters, {@code ?} one). */
        public boolean matchesTask(String name) {
            if (taskGlobs.isEmpty()) {
                return true;
            }
            for (String g : taskGlobs) {
                if (glob(g).matcher(name).matches()) {
                    return true;
                }
            }
            return false;
        }

        /** The filter for a run with {@code vcpuCount} vCPUs and these tasks (by task id). */
        public TraceFilter filter(int vcpuCount, List<TaskRef> tasks) {
            return isAll() ? ALL_EVENTS : new TraceFilter(this, vcpuCount, tasks);
        }

        static Pattern glob(String g) {
            StringBuilder re = new StringBuilder();
            for (char c : g.toCharArray()) {
                switch (c) {
                    case '*' -> re.append(".*");
                    case '?' -> re.append('.');
                    default -> re.append(Pattern.quote(String.valueOf(c)));
                }
            }
            return Pattern.compile(re.toString());
        }
    }

    /** Keeps everything. */
    public static final TraceFilter ALL_EVENTS = new TraceFilter(Selection.ALL, 0, List.of());

    private static final int NONE = -1;
    private static final long WAKE_ALL = 0xffffffffL;

    private final long from;
    private final long to;
    private final boolean all;
    private final boolean[] vcpuKept;   // null: every vCPU
    private final boolean[] taskKept;   // null: every task
    /** A task glob was given: events belong to tasks (else only their vCPU counts). */
    private final boolean byTask;
    private int[] current = new int[0]; // task current on each CPU
    /** Owner (packed vcpu, task) of each outstanding fault, by (vCPU, token), (vCPU, gva) and gfn. */
    private final HashMap<Key, Long> byToken = new HashMap<>();
    private final HashMap<Key, Long> byGva = new HashMap<>();
    private final HashMap<Long, Long> byGfn = new HashMap<>();
    /**
     * The last page-ready per vCPU and whose it is, for what follows it until the guest's ACK: its interrupt, the
     * guest's wake (a dummy wake names no task) and the ACK itself.
     */
    private long[] readyToken = new long[0];
    private long[] readyOwner = new long[0];
    private boolean[] readyPending = new boolean[0];
    /** {@code MSR_KVM_ASYNC_PF_ACK}. */
    private static final int MSR_ACK = 0x4b564d07;

    private record Key(int vcpu, long value) {
    }

    private TraceFilter(Selection s, int vcpuCount, List<TaskRef> tasks) {
        this.from = s.fromNs();
        this.to = s.toNs();
        this.all = s.isAll();
        if (s.vcpus().isEmpty()) {
            vcpuKept = null;
        } else {
            vcpuKept = new boolean[Math.max(vcpuCount, s.vcpus().stream().mapToInt(Integer::intValue).max().orElse(0) + 1)];
            s.vcpus().forEach(v -> vcpuKept[v] = true);
        }
        byTask = !s.taskGlobs().isEmpty();
        if (!byTask && vcpuKept == null) {
            taskKept = null;
        } else {
            taskKept = new boolean[tasks.size()];
            for (int i = 0; i < tasks.size(); i++) {
                TaskRef t = tasks.get(i);
                taskKept[i] = s.matchesTask(t.name()) && keepsVcpu(t.cpu());
            }
        }
        ensureCpu(vcpuCount - 1);
    }

    public long from() {
        return from;
    }

    public long to() {
        return to;
    }

    /** True when this filter keeps every event. */
    public boolean keepsAll() {
        return all;
    }

    public boolean inWindow(long t) {
        return t >= from && t < to;
    }

    public boolean keepsVcpu(int v) {
        return vcpuKept == null || v < 0 || (v < vcpuKept.length && vcpuKept[v]);
    }

    public boolean keepsTask(int id) {
        return taskKept == null || (id >= 0 && id < taskKept.length && taskKept[id]);
    }

    /** Whether an output keeps {@code e}; call it for every event of the run, in order. */
    public boolean keep(TraceEvent e) {
        if (all) {
            return true;
        }
        if (vcpuKept == null && !byTask) {
            return inWindow(e.time()); // a window alone: nothing to attribute
        }
        long owner = attribute(e);
        if (!inWindow(e.time())) {
            return false;
        }
        if (owner == NAMED_KEPT || owner == NAMED_DROPPED) {
            return owner == NAMED_KEPT;
        }
        int v = vcpuOf(owner);
        if (v < 0) {
            return e.vcpu() < 0 && !(e instanceof PageIo); // VM-wide; a device read nobody asked for is not
        }
        return keepsVcpu(v) && (!byTask || keepsTask(taskOf(owner)));
    }

    /** A sink that passes on only the events this filter keeps (the sink itself when it keeps all). */
    public TraceSink wrap(TraceSink sink) {
        if (all) {
            return sink;
        }
        return new TraceSink() {
            @Override
            public void accept(TraceEvent event) {
                if (keep(event)) {
                    sink.accept(event);
                }
            }

            @Override
            public boolean wantsTimeline() {
                return sink.wantsTimeline();
            }

            @Override
            public void flush() {
                sink.flush();
            }

            @Override
            public void close() {
                sink.close();
            }
        };
    }

    // ---- attribution ---------------------------------------------------------------------------------------

    private static final long NAMED_KEPT = Long.MIN_VALUE;
    private static final long NAMED_DROPPED = Long.MIN_VALUE + 1;

    private static long pack(int vcpu, int task) {
        return ((long) vcpu << 32) | (task & 0xffffffffL);
    }

    private static int vcpuOf(long owner) {
        return (int) (owner >> 32);
    }

    private static int taskOf(long owner) {
        return (int) owner;
    }

    private void ensureCpu(int v) {
        if (v >= current.length) {
            int n = v + 1;
            int old = current.length;
            current = java.util.Arrays.copyOf(current, n);
            readyToken = java.util.Arrays.copyOf(readyToken, n);
            readyOwner = java.util.Arrays.copyOf(readyOwner, n);
            readyPending = java.util.Arrays.copyOf(readyPending, n);
            for (int i = old; i < n; i++) {
                current[i] = NONE;
                readyToken[i] = -1;
            }
        }
    }

    /** An event about these tasks: kept when one of them is (with a task filter; else by its vCPU). */
    private long named(long here, int... tasks) {
        if (!byTask) {
            return here;
        }
        for (int t : tasks) {
            if (t >= 0 && keepsTask(t)) {
                return NAMED_KEPT;
            }
        }
        return NAMED_DROPPED;
    }

    /** Who {@code e} belongs to (packed vCPU and task), updating what the filter follows. */
    private long attribute(TraceEvent e) {
        int v = e.vcpu();
        if (v >= 0) {
            ensureCpu(v);
        }
        long here = v >= 0 ? pack(v, current[v]) : pack(NONE, NONE);
        return switch (e) {
            case GuestSwitch s -> {
                current[v] = s.next();
                yield named(here, s.prev(), s.next());
            }
            case GuestApfWait w -> named(here, w.task());
            case GuestApfWake w -> {
                yield w.task() >= 0 ? named(here, w.task()) : readyToken[v] == w.token() ? readyOwner[v] : here;
            }
            case ApicAcceptIrq a -> readyPending[v] ? readyOwner[v] : here;
            case Msr m -> {
                if (m.write() && m.msr() == MSR_ACK && readyPending[v]) {
                    readyPending[v] = false;
                    yield readyOwner[v];
                }
                yield here;
            }
            case GuestWakeup w -> named(here, w.task());
            case GuestTaskExit x -> named(here, x.task());
            case GuestTaskKilled k -> named(here, k.task());
            case GuestPageFault p -> p.task() >= 0 ? named(here, p.task()) : here;
            case TryAsyncGetPage t -> {
                if (byGfn.size() > 1 << 20) {
                    byGfn.clear(); // reads that never completed (failed GUPs): forget them rather than grow
                }
                byGfn.put(t.gfn(), here);
                yield here;
            }
            case SyncFault s -> {
                byGfn.put(s.gfn(), here);
                yield here;
            }
            case NotPresent n -> {
                byToken.put(new Key(v, n.token()), here);
                byGva.put(new Key(v, n.gva()), here);
                yield here;
            }
            case Ready r -> {
                if (r.token() == WAKE_ALL) {
                    yield here;
                }
                Long o = byToken.remove(new Key(v, r.token()));
                long owner = o == null ? here : o;
                readyToken[v] = r.token();
                readyOwner[v] = owner;
                readyPending[v] = true;
                yield owner;
            }
            case Completed c -> {
                Long o = byGva.remove(new Key(v, c.gva()));
                yield o == null ? here : o;
            }
            case PageIo p -> {
                Long o = p.done() ? byGfn.remove(p.gfn()) : byGfn.get(p.gfn());
                yield o == null ? pack(NONE, NONE) : o;
            }
            case QueueCleared q -> {
                byToken.keySet().removeIf(k -> k.vcpu() == v);
                byGva.keySet().removeIf(k -> k.vcpu() == v);
                yield here;
            }
            default -> here;
        };
    }

    /** Task ids of {@code tasks} this selection keeps (for messages). */
    public static List<String> matching(Selection s, List<TaskRef> tasks) {
        List<String> out = new ArrayList<>();
        for (TaskRef t : tasks) {
            if (s.matchesTask(t.name())) {
                out.add(t.name());
            }
        }
        return out;
    }
}
