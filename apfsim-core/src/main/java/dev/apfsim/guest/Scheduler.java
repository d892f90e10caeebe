package dev.apfsim.guest;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.arch.CpuState;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.TraceEvent;

import java.util.ArrayDeque;
import java.util.function.LongUnaryOperator;

/**
 * One CPU's scheduler: its run queue and current task, context switches, blocking (timed sleeps and async PF
 * waits), task death, timeslice preemption on the timer tick, and the tick itself, which NOHZ stops while the CPU
 * is idle.
 *
 * <p>Two policies ({@link GuestConfig.SchedulerPolicy}). {@code ROUND_ROBIN}: a FIFO run queue, a woken task waits at
 * its tail until the current task's timeslice ends at a tick. {@code CFS}: {@code kernel/sched/fair.c} (before
 * EEVDF) for equal-weight tasks on one CPU's run queue: vruntime = CPU time consumed (user + kernel) plus a
 * placement offset, the smallest vruntime runs (ties: queue order), a monotonic per-CPU min_vruntime, sleeper
 * placement, wake-up preemption and tick preemption.
 */
final class Scheduler implements EventHandler {
    private static final int EV_TICK = 0;
    private static final int EV_SLEEP_DONE = 1;

    /** CFS {@code sysctl_sched_latency} (6 ms, unscaled: one CPU's view). */
    static final long SCHED_LATENCY_NS = 6_000_000;
    /** CFS {@code sysctl_sched_wakeup_granularity} (1 ms, unscaled). */
    static final long WAKEUP_GRANULARITY_NS = 1_000_000;

    private final GuestKernel kernel;
    private final int id;
    private final GuestCpu.Platform platform;
    private final CpuState cpu;
    private final HandlerFrames frames;
    private final ArrayDeque<Task> runqueue = new ArrayDeque<>();
    private Task current;
    private boolean needResched;
    /** A preemption on return to the task waits for the interrupts the host holds ({@link #returnedToTask}). */
    private boolean switchDeferred;
    private final boolean cfs;
    /** CFS {@code cfs_rq->min_vruntime}: never decreases. */
    private long minVruntime;
    /** The current task's compute not yet charged to it at a given time (its in-flight segment). */
    private final LongUnaryOperator uncharged;

    /** Arch work of a context switch to {@code next} (s390: the pid stored in the lowcore). */
    java.util.function.Consumer<Task> onSwitch = t -> {
    };

    private boolean tickArmed;
    /** Bumped whenever the tick is armed or stopped, so a stale tick event is recognised and dropped. */
    private long tickGen;

    Scheduler(GuestKernel kernel, int id, GuestCpu.Platform platform, CpuState cpu, HandlerFrames frames,
              LongUnaryOperator uncharged) {
        this.kernel = kernel;
        this.cfs = kernel.config.scheduler() == GuestConfig.SchedulerPolicy.CFS;
        this.uncharged = uncharged;
        this.id = id;
        this.platform = platform;
        this.cpu = cpu;
        this.frames = frames;
    }

    Task current() {
        return current;
    }

    /** The task's return from interrupt stopped at {@code schedule()} while the host delivered what it held. */
    boolean switchDeferred() {
        return switchDeferred;
    }

    void enqueue(Task t, long now) {
        t.state = Task.State.RUNNABLE;
        runqueue.addLast(t);
        armTick(now);
    }

    /** A new task joins the run queue (CFS: at min_vruntime; {@code place_entity(initial)} without START_DEBIT). */
    void enqueueNew(Task t, long now) {
        if (cfs) {
            updateMinVruntime(now);
            t.vruntimeOffset = minVruntime - (t.userNs + t.kernelNs);
        }
        enqueue(t, now);
    }

    /** A sleeping task wakes up ({@code try_to_wake_up} → {@code enqueue_task_fair}, then the preemption check). */
    void wake(Task t, long now) {
        if (!cfs) {
            enqueue(t, now);
            return;
        }
        updateMinVruntime(now); // update_curr
        // place_entity with GENTLE_FAIR_SLEEPERS: a sleeper gets at most half a latency period of credit
        long placed = Math.max(vruntime(t, now), minVruntime - SCHED_LATENCY_NS / 2);
        t.vruntimeOffset += placed - vruntime(t, now);
        enqueue(t, now);
        // check_preempt_wakeup → wakeup_preempt_entity: preempt when the wakee is ahead by more than the granularity;
        // the switch happens when the handler that woke it (or the reschedule IPI from another CPU) returns
        if (current != null && vruntime(t, now) + WAKEUP_GRANULARITY_NS < vruntime(current, now)) {
            needResched = true;
        }
    }

    /** Switches to the next runnable task; false when there is none. */
    boolean switchToNext(long now) {
        dev.apfsim.engine.Choices choices = kernel.sim.choices();
        Task next = !choices.isDefault() && runqueue.size() > 1 ? pickChosen(choices, now)
                : cfs ? pickCfs(now) : runqueue.pollFirst();
        if (next == null) {
            return false;
        }
        switchTo(next, now);
        return true;
    }

    /**
     * The checker's pick among the runnable tasks: alternative 0 is the policy's own ({@code pick_next_task}), the
     * others every other runnable task in queue order, so a woken task can be kept waiting as long as it likes.
     */
    private Task pickChosen(dev.apfsim.engine.Choices choices, long now) {
        Task own = cfs ? leftmost(now) : runqueue.peekFirst();
        int[] ids = new int[runqueue.size()];
        Task[] alts = new Task[ids.length];
        alts[0] = own;
        int k = 1;
        for (Task t : runqueue) {
            if (t != own) {
                alts[k++] = t;
            }
        }
        for (int i = 0; i < alts.length; i++) {
            ids[i] = alts[i].id;
        }
        Task next = alts[choices.pick(dev.apfsim.engine.Choices.Point.GUEST_TASK, alts.length, ids)];
        runqueue.remove(next);
        if (cfs) {
            updateMinVruntime(now);
            next.execAtPick = next.userNs + next.kernelNs;
        }
        return next;
    }

    /** CFS vruntime: CPU time consumed (user + kernel, including the current in-flight segment) plus placement. */
    private long vruntime(Task t, long now) {
        long exec = t.userNs + t.kernelNs + (t == current ? uncharged.applyAsLong(now) : 0);
        return exec + t.vruntimeOffset;
    }

    /** The runnable task with the smallest vruntime, first in queue order among equals ({@code __pick_first_entity}). */
    private Task leftmost(long now) {
        Task best = null;
        long bestVr = 0;
        for (Task t : runqueue) {
            long vr = vruntime(t, now);
            if (best == null || vr < bestVr) {
                best = t;
                bestVr = vr;
            }
        }
        return best;
    }

    /** {@code pick_next_entity} → {@code set_next_entity}: take the leftmost task off the queue. */
    private Task pickCfs(long now) {
        Task next = leftmost(now);
        if (next != null) {
            runqueue.remove(next);
            updateMinVruntime(now);
            next.execAtPick = next.userNs + next.kernelNs; // prev_sum_exec_runtime
        }
        return next;
    }

    /** {@code update_min_vruntime}: toward min(current, leftmost), never backwards. */
    private void updateMinVruntime(long now) {
        Task left = leftmost(now);
        if (current == null && left == null) {
            return;
        }
        long v = current == null ? vruntime(left, now)
                : left == null ? vruntime(current, now) : Math.min(vruntime(current, now), vruntime(left, now));
        minVruntime = Math.max(minVruntime, v);
    }

    /** Nothing to run: the CPU halts and NOHZ stops the tick. */
    void idle() {
        disarmTick();
    }

    private void switchTo(Task next, long now) {
        if (next.pendingSigbus) {
            next.pendingSigbus = false;
            Action a = next.action();
            kill(next, now, "SIGBUS", a instanceof Action.Touch t ? t.gva() : 0); // the failed access
            return;
        }
        kernel.metrics.counters.inc(Counter.GUEST_CONTEXT_SWITCHES);
        kernel.tracer.emit(new TraceEvent.GuestSwitch(now, id, current == null ? -1 : current.id, next.id));
        current = next;
        onSwitch.accept(next);
        next.state = Task.State.RUNNING;
        next.sliceStart = now;
        cpu.interruptFlag = next.interruptFlag;
        cpu.cpl = next.kernelMode ? 0 : 3;
        frames.enterSwitchedIn(new Frame(Frame.Kind.SCHED, next.interruptFlag, cpu.cpl, next.inL2,
                kernel.contextSwitchStep));
        armTick(now);
    }

    /**
     * The last handler returned to the task: preempt it now if the tick asked for it. {@code
     * exit_to_user_mode_loop} enables interrupts before it calls {@code schedule()}: an interrupt the host holds
     * for this CPU (it asked for the window exit) is taken first, with the preempted task still current, and the
     * switch follows ({@link #switchDeferred}).
     */
    void returnedToTask(long now) {
        switchDeferred = false;
        if (current != null && needResched) {
            if (cpu.windowExitDue()) {
                switchDeferred = true;
                return;
            }
            needResched = false;
            Task prev = current;
            saveTask(prev);
            current = null;
            enqueue(prev, now);
        }
    }

    private void saveTask(Task t) {
        t.interruptFlag = cpu.interruptFlag;
        t.kernelMode = cpu.cpl == 0;
        t.inL2 = cpu.guestMode;
    }

    /** The current task blocks; the frames above it (the #PF handler) are unwound into its saved state. */
    void sleep(Task t, Task.State why, long now) {
        if (cfs) {
            updateMinVruntime(now); // dequeue_entity → update_curr
        }
        frames.unwind();
        saveTask(t);
        t.state = why;
        t.sleepStart = now;
        current = null;
        kernel.tracer.emit(new TraceEvent.GuestSwitch(now, id, t.id, -1));
    }

    /** The current task sleeps for {@code ns} in the guest scheduler (not an async PF wait). */
    void sleepFor(Task t, long ns, long now) {
        sleep(t, Task.State.SLEEP, now);
        kernel.sim.at(now + ns, this, EV_SLEEP_DONE, t.id);
    }

    /** The current task returns from its program. */
    void exit(Task t, long now) {
        if (cfs) {
            updateMinVruntime(now);
        }
        t.state = Task.State.DONE;
        current = null;
        kernel.tracer.emit(new TraceEvent.GuestTaskExit(now, id, t.id));
        kernel.tracer.emit(new TraceEvent.GuestSwitch(now, id, t.id, -1));
    }

    /** A fatal signal: the task dies at once, with every handler above it. */
    void kill(Task t, long now, String signal, long address) {
        frames.clear();
        t.state = Task.State.KILLED;
        t.killedAt = now;
        current = null;
        cpu.cpl = 0;
        cpu.interruptFlag = true;
        kernel.metrics.counters.inc(Counter.TASKS_KILLED);
        kernel.tracer.emit(new TraceEvent.GuestTaskKilled(now, id, t.id, signal, address));
        kernel.observer.taskKilled(now, t, signal);
    }

    /** The timer interrupt's scheduler part ({@code scheduler_tick}): the timeslice is used up and others wait. */
    void timerTick(long now) {
        if (cfs) {
            cfsTick(now);
            return;
        }
        if (current != null && !runqueue.isEmpty() && now - current.sliceStart >= kernel.config.timesliceNs()) {
            needResched = true;
        }
    }

    /**
     * {@code task_tick_fair} → {@code check_preempt_tick}: the current task ran its ideal slice
     * ({@code sched_slice}: the latency period shared by the runnable tasks, at least the timeslice, which stands in
     * for {@code sched_min_granularity}) and a runnable task is behind it in vruntime, or it ran at least the minimum
     * granularity and is ahead of the leftmost task by more than an ideal slice.
     */
    private void cfsTick(long now) {
        updateMinVruntime(now); // update_curr
        if (current == null || runqueue.isEmpty()) {
            return;
        }
        long ideal = Math.max(SCHED_LATENCY_NS / (runqueue.size() + 1), kernel.config.timesliceNs());
        long ran = current.userNs + current.kernelNs + uncharged.applyAsLong(now) - current.execAtPick;
        long ahead = vruntime(current, now) - vruntime(leftmost(now), now);
        if ((ran >= ideal && ahead > 0) || (ran >= kernel.config.timesliceNs() && ahead > ideal)) {
            needResched = true;
        }
    }

    private void armTick(long now) {
        if (!tickArmed && kernel.config.tickNs() > 0) {
            tickArmed = true;
            tickGen++;
            kernel.sim.at(now + kernel.config.tickNs(), this, EV_TICK, tickGen);
        }
    }

    private void disarmTick() {
        if (tickArmed) {
            tickArmed = false;
            tickGen++;
        }
    }

    @Override
    public void onEvent(int code, long arg) {
        if (code == EV_TICK) {
            if (arg == tickGen && tickArmed && !kernel.panicked) {
                platform.timerInterrupt();
                kernel.sim.after(kernel.config.tickNs(), this, EV_TICK, tickGen);
            }
        } else if (code == EV_SLEEP_DONE) {
            Task t = kernel.tasks.get((int) arg);
            if (t.state == Task.State.SLEEP) {
                kernel.wake(t, kernel.sim.now(), -1);
            }
        }
    }
}
