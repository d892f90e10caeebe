package dev.apfsim.guest;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.kvm.x86.X86CpuState;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.TraceEvent;

import java.util.ArrayDeque;

/**
 * One CPU's scheduler: its run queue and current task, context switches, blocking (timed sleeps and async PF
 * waits), task death, timeslice preemption on the timer tick, and the tick itself, which NOHZ stops while the CPU
 * is idle.
 */
final class Scheduler implements EventHandler {
    private static final int EV_TICK = 0;
    private static final int EV_SLEEP_DONE = 1;

    private final GuestKernel kernel;
    private final int id;
    private final GuestCpu.Platform platform;
    private final X86CpuState cpu;
    private final HandlerFrames frames;
    private final ArrayDeque<Task> runqueue = new ArrayDeque<>();
    private Task current;
    private boolean needResched;

    private boolean tickArmed;
    /** Bumped whenever the tick is armed or stopped, so a stale tick event is recognised and dropped. */
    private long tickGen;

    Scheduler(GuestKernel kernel, int id, GuestCpu.Platform platform, X86CpuState cpu, HandlerFrames frames) {
        this.kernel = kernel;
        this.id = id;
        this.platform = platform;
        this.cpu = cpu;
        this.frames = frames;
    }

    Task current() {
        return current;
    }

    void enqueue(Task t, long now) {
        t.state = Task.State.RUNNABLE;
        runqueue.addLast(t);
        armTick(now);
    }

    /** Switches to the first runnable task; false when there is none. */
    boolean switchToNext(long now) {
        Task next = runqueue.pollFirst();
        if (next == null) {
            return false;
        }
        switchTo(next, now);
        return true;
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
        next.state = Task.State.RUNNING;
        next.sliceStart = now;
        cpu.interruptFlag = next.interruptFlag;
        cpu.cpl = next.kernelMode ? 0 : 3;
        frames.enterSwitchedIn(new Frame(Frame.Kind.SCHED, next.interruptFlag, cpu.cpl, next.inL2,
                new Action.Compute(kernel.config.contextSwitchNs())));
        armTick(now);
    }

    /** The last handler returned to the task: preempt it now if the tick asked for it. */
    void returnedToTask(long now) {
        if (current != null && needResched) {
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
        if (current != null && !runqueue.isEmpty() && now - current.sliceStart >= kernel.config.timesliceNs()) {
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
