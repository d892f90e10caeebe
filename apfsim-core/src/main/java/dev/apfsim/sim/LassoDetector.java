package dev.apfsim.sim;

import dev.apfsim.check.Invariant;
import dev.apfsim.guest.Task;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceSink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Liveness as lassos: after every protocol event the abstract state ({@link AbstractState}) is hashed; when a state
 * comes back with no progress in between ({@link Machine#progress()}: no faulting access completed, no script
 * step, no task ended, no VM stop), the run has a cycle it can repeat for ever. It is reported as a livelock with
 * its prefix and its cycle of protocol events, and with whether the cycle survives fairness: under weak fairness
 * no task may stay runnable through the whole cycle without running in it, under strong fairness no task may be
 * runnable at some point of it without running in it (otherwise a fair scheduler would leave the cycle).
 */
public final class LassoDetector implements TraceSink {
    /**
     * A found cycle: protocol events [0, cycleStart) are the prefix, [cycleStart, cycleEnd) the cycle. {@code
     * looping} names the task whose own state repeated while others made progress (a subset livelock), or is
     * null when the whole state repeats.
     */
    public record Lasso(int cycleStart, int cycleEnd, boolean weaklyFair, boolean stronglyFair, String unfairTo,
                        String looping) {
        public int prefixLength() {
            return cycleStart;
        }

        public int cycleLength() {
            return cycleEnd - cycleStart;
        }
    }

    private final Machine machine;
    /** The protocol events, kept only for a run whose trace is printed ({@link #keepEvents}). */
    private final List<TraceEvent> events = new ArrayList<>();
    private boolean keepEvents = true;
    /** Protocol events so far: the indices a lasso is told in. */
    private int count;
    /**
     * Per protocol event, the last {@link #WINDOW} of them (a ring: a checked run may take millions): tasks
     * runnable or running, and tasks that ran since the previous event.
     */
    private long[] enabledMasks = new long[256];
    private long[] ranMasks = new long[256];
    private static final int WINDOW = 1 << 20;
    /** Where each abstract state was seen since the last progress (the most recent few), by lookup only. */
    private final HashMap<Long, int[]> seen = new HashMap<>();
    /** Earlier visits of a state a cycle may start from: a fair cycle can span several unfair ones. */
    private static final int VISITS = 8;
    private final dev.apfsim.check.Fairness fairness;
    private int unfairCycles;
    private int unfairSinceProgress;
    /** Unfair cycles in a row after which a run is given up (it would only repeat them). */
    private static final int MAX_UNFAIR = 1_000;
    private java.util.Set<Long> allStates;
    private long lastProgress = -1;
    private long ranSince;
    private Lasso found;

    public LassoDetector(Machine machine, java.util.Set<Long> allStates) {
        this.machine = machine;
        this.allStates = allStates;
        this.fairness = machine.scenario().check().fairness();
    }

    @Override
    public void accept(TraceEvent e) {
        if (e instanceof TraceEvent.GuestSwitch s && s.next() < 64) {
            ranSince |= 1L << s.next();
        }
        if (found != null || !ProtocolEvents.is(e) || e instanceof TraceEvent.Violation) {
            return;
        }
        if (keepEvents) {
            events.add(e);
        }
        count++;
        long enabled = 0;
        List<Task> tasks = machine.guest().tasks();
        for (int i = 0; i < Math.min(64, tasks.size()); i++) {
            Task.State st = tasks.get(i).state();
            if (st == Task.State.RUNNABLE || st == Task.State.RUNNING) {
                enabled |= 1L << i;
                if (st == Task.State.RUNNING) {
                    ranSince |= 1L << i;
                }
            }
        }
        recordMasks(count - 1, enabled, ranSince);
        ranSince = 0;
        long progress = machine.progress();
        if (progress != lastProgress) {
            lastProgress = progress;
            seen.clear();
            unfairSinceProgress = 0;
        }
        if (!(e instanceof TraceEvent.TryAsyncGetPage || e instanceof TraceEvent.GuestPageFault
                || e instanceof TraceEvent.S390MajorGuestPfault) || machine.timeDependent()) {
            return; // the state is sampled where a fault is attempted: a repeat there is a retry cycle
        }
        if (e instanceof TraceEvent.TryAsyncGetPage f && inFlight(f.gfn())) {
            return; // a repeated fault while the page is still coming in: waiting, not looping
        }
        if (e instanceof TraceEvent.S390MajorGuestPfault z && z.vcpu() < machine.s390Vcpus().size()
                && inFlight(machine.s390Vcpus().get(z.vcpu()).lastFaultGfn())) {
            return; // s390's kvm_try_async_get_page: the same rule
        }
        if (!wholeCycle(e) && e instanceof TraceEvent.TryAsyncGetPage f) {
            taskCycle(f);
        }
    }

    /** Whether the whole abstract state came back to an earlier visit in a cycle the fairness admits (or the run is given up). */
    private boolean wholeCycle(TraceEvent e) {
        long h = AbstractState.hash(machine);
        if (allStates != null && allStates.size() < 1_000_000) {
            allStates.add(h);
        }
        int[] visits = seen.get(h);
        if (visits == null) {
            seen.put(h, new int[]{count});
            return false;
        }
        // the shortest cycle back to an earlier visit that the fairness requirement admits
        for (int k = visits.length - 1; k >= 0; k--) {
            Lasso l = lasso(visits[k], count);
            if (fairness.admits(l.weaklyFair(), l.stronglyFair())) {
                found = l;
                machine.monitor().violation(e.time(), e.vcpu() < 0 ? 0 : e.vcpu(), Invariant.LIVELOCK,
                        String.format("the protocol state repeats with no progress: a cycle of %d protocol events"
                                + " after a prefix of %d (%s)", l.cycleLength(), l.prefixLength(), fairness(l)));
                machine.simulator().stop();
                return true;
            }
        }
        unfairCycles++;
        if (++unfairSinceProgress >= MAX_UNFAIR) {
            // the run keeps to cycles that starve a task and no fair one came up: nothing more to learn from it
            machine.simulator().stop();
            return true;
        }
        int[] more = java.util.Arrays.copyOfRange(visits, Math.max(0, visits.length + 1 - VISITS),
                visits.length + 1);
        more[more.length - 1] = count;
        seen.put(h, more);
        return false;
    }

    /**
     * A subset livelock: the faulting task's own share of the state ({@link AbstractState#taskHash}) has come back
     * {@link #TASK_REPEATS} times at its fault attempts with no progress of its own, while other tasks may progress
     * (so the whole state never repeats). Three rounds of the same cycle are asked for, not one, because the
     * projection leaves the other tasks out and a single repeat can be a coincidence of their timing.
     */
    @SuppressWarnings("unchecked")
    private void taskCycle(TraceEvent.TryAsyncGetPage f) {
        if (f.vcpu() < 0 || f.vcpu() >= machine.guest().cpuCount()) {
            return;
        }
        Task t = machine.guest().cpu(f.vcpu()).current();
        if (t == null) {
            return;
        }
        if (taskSeen == null) {
            int n = machine.guest().tasks().size();
            taskSeen = new HashMap[n];
            taskProgress = new long[n];
            java.util.Arrays.fill(taskProgress, -1);
        }
        long p = machine.taskProgress(t);
        if (p != taskProgress[t.id] || taskSeen[t.id] == null) {
            taskProgress[t.id] = p;
            taskSeen[t.id] = new HashMap<>();
        }
        long h = AbstractState.taskHash(machine, t, f.gfn());
        int[] visits = taskSeen[t.id].get(h);
        if (visits == null) {
            taskSeen[t.id].put(h, new int[]{count});
            return;
        }
        // the visits so far, the last few kept (a run that keeps to an unfair cycle comes back here for ever)
        int[] more = java.util.Arrays.copyOfRange(visits, Math.max(0, visits.length + 1 - VISITS), visits.length + 1);
        more[more.length - 1] = count;
        taskSeen[t.id].put(h, more);
        if (more.length <= TASK_REPEATS) {
            return;
        }
        Lasso whole = lasso(visits[visits.length - 1], count);
        if (!fairness.admits(whole.weaklyFair(), whole.stronglyFair())) {
            return;
        }
        Lasso l = new Lasso(whole.cycleStart(), whole.cycleEnd(), whole.weaklyFair(), whole.stronglyFair(),
                whole.unfairTo(), t.name);
        found = l;
        machine.monitor().violation(f.time(), f.vcpu(), Invariant.LIVELOCK, String.format("task %s faults on gfn"
                + " 0x%x in the same state %d times with no progress of its own while other tasks go on: a cycle of"
                + " %d protocol events after a prefix of %d (%s)", t.name, f.gfn(), TASK_REPEATS + 1, l.cycleLength(),
                l.prefixLength(), fairness(l)));
        machine.simulator().stop();
    }

    /** Whether a worker is still on {@code gfn} ({@code async_pf_execute} not done): the I/O has yet to end. */
    private boolean inFlight(long gfn) {
        for (dev.apfsim.kvm.KvmVcpu v : machine.vcpus()) {
            for (dev.apfsim.kvm.VcpuView.Outstanding w : v.outstanding()) {
                if (w.gfn() == gfn && !w.completed()) {
                    return true;
                }
            }
        }
        return false;
    }

    private static final int TASK_REPEATS = 3;
    private HashMap<Long, int[]>[] taskSeen;
    private long[] taskProgress;

    /** Cycles with no progress that the fairness requirement did not admit (a starved task would leave them). */
    public int unfairCycles() {
        return unfairCycles;
    }

    private void recordMasks(int i, long enabled, long ran) {
        if (i >= enabledMasks.length && enabledMasks.length < WINDOW) {
            enabledMasks = java.util.Arrays.copyOf(enabledMasks, Math.min(WINDOW, enabledMasks.length * 2));
            ranMasks = java.util.Arrays.copyOf(ranMasks, enabledMasks.length);
        }
        enabledMasks[i % enabledMasks.length] = enabled;
        ranMasks[i % ranMasks.length] = ran;
    }

    /**
     * The cycle runs from the fault attempt at {@code start - 1} up to, not including, the one at {@code end - 1}. A
     * cycle longer than the masks kept cannot be judged: it counts as fair to no one.
     */
    private Lasso lasso(int start, int end) {
        start--;
        end--;
        if (count - start > enabledMasks.length) {
            return new Lasso(start, end, false, false, "(a task of a cycle too long to judge)", null);
        }
        long always = ~0L;
        long sometime = 0;
        long ran = 0;
        for (int i = start; i < end; i++) {
            always &= enabledMasks[i % enabledMasks.length];
            sometime |= enabledMasks[i % enabledMasks.length];
            ran |= ranMasks[i % ranMasks.length];
        }
        long weak = always & ~ran;
        long strong = sometime & ~ran;
        String unfair = null;
        long who = weak != 0 ? weak : strong;
        if (who != 0) {
            unfair = machine.guest().tasks().get(Long.numberOfTrailingZeros(who)).name;
        }
        return new Lasso(start, end, weak == 0, strong == 0, unfair, null);
    }

    public static String fairness(Lasso l) {
        if (l.stronglyFair()) {
            return "survives weak and strong fairness";
        }
        if (l.weaklyFair()) {
            return "survives weak fairness, not strong fairness: " + l.unfairTo() + " is runnable in the cycle but"
                    + " never runs";
        }
        return "survives no fairness: " + l.unfairTo() + " stays runnable through the cycle and never runs";
    }

    /** Where the abstract states seen are collected (the checker's count of distinct states). */
    public void collectStates(java.util.Set<Long> states) {
        this.allStates = states;
    }

    public Lasso found() {
        return found;
    }

    /** The protocol events of the run (empty unless {@link #keepEvents} was left on). */
    public List<TraceEvent> events() {
        return events;
    }

    /** Whether the protocol events are kept for printing (on by default; a checked run that prints none needs none). */
    public void keepEvents(boolean keep) {
        this.keepEvents = keep;
    }
}
