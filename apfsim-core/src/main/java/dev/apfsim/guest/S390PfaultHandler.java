package dev.apfsim.guest;

import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.TraceEvent;

import java.util.ArrayList;

import static dev.apfsim.arch.s390.S390Pfault.*;

/**
 * The guest half of s390 pfault on one CPU ({@code arch/s390/mm/pfault.c}): {@code pfault_interrupt} for the
 * PFAULT_INIT and PFAULT_DONE external interruptions, with the per-task {@code thread.pfault_wait} (1: asleep on
 * the global {@code pfault_list}; -1: the completion came first) and {@code pfault_cpu_dead}. The token is the task's
 * pid, which the scheduler stores in the lowcore ({@code __switch_to_asm}: {@code __LC_CURRENT_PID}).
 */
final class S390PfaultHandler {
    private final GuestKernel kernel;
    private final int id;
    private final HandlerFrames frames;
    private final Scheduler scheduler;

    S390PfaultHandler(GuestKernel kernel, int id, HandlerFrames frames, Scheduler scheduler) {
        this.kernel = kernel;
        this.id = id;
        this.frames = frames;
        this.scheduler = scheduler;
    }

    /** An external interruption through the external new PSW: the registered handler runs after its cost. */
    void deliver(int code, int subcode, long param64) {
        kernel.metrics.counters.inc(Counter.GUEST_IRQS);
        frames.enter(Frame.Kind.INTERRUPT, kernel.irqHandlerStep,
                new Action.Op((c, t) -> pfaultInterrupt(t, code, subcode, param64)));
    }

    /** {@code pfault_interrupt}, registered for {@code EXT_IRQ_CP_SERVICE}. */
    private void pfaultInterrupt(long now, int code, int subcode, long param64) {
        if (code != EXT_IRQ_CP_SERVICE || (subcode & 0xff00) != SUBCODE_MASK) {
            return;
        }
        kernel.metrics.counters.inc(Counter.GUEST_APF_IRQS); // inc_irq_stat(IRQEXT_PFL)
        long pid = param64 & LPP_PID_MASK; // "the token (= pid of the affected task)"
        Task tsk = kernel.taskByPid(pid);
        if (tsk == null) {
            return;
        }
        ArrayList<Task> list = kernel.pfaultList;
        if ((subcode & PF_COMPLETE) != 0) {
            if (tsk.pfaultWait == 1) {
                // "Initial interrupt was faster than the completion interrupt": wake the sleeper
                tsk.pfaultWait = 0;
                list.remove(tsk);
                kernel.tracer.emit(new TraceEvent.GuestApfWake(now, id, tsk.id, pid));
                kernel.metrics.taskWait.record(now - tsk.sleepStart);
                kernel.wake(tsk, now, id);
            } else if (tsk.state == Task.State.RUNNING || tsk.state == Task.State.RUNNABLE) {
                // "Completion interrupt was faster than initial interrupt"; otherwise a CANCEL leftover
                tsk.pfaultWait = -1;
                kernel.tracer.emit(new TraceEvent.GuestApfWake(now, id, -1, pid));
            }
            return;
        }
        if (tsk != scheduler.current()) {
            return; // WARN_ON_ONCE(tsk != current)
        }
        kernel.metrics.counters.inc(Counter.GUEST_PF_ASYNC);
        if (tsk.pfaultWait == -1) {
            tsk.pfaultWait = 0; // the completion came first: go on
            kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, tsk.id, pid, true));
            return;
        }
        if (tsk.pfaultWait != 1) {
            tsk.pfaultWait = 1;
            list.add(0, tsk); // list_add(&tsk->thread.list, &pfault_list)
        }
        // TASK_UNINTERRUPTIBLE + need_resched: the return to user space schedules the task out
        tsk.apfWaits++;
        tsk.sleepToken = pid;
        kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, tsk.id, pid, false));
        scheduler.sleep(tsk, Task.State.APF_SLEEP, now);
    }

    /** {@code pfault_cpu_dead}: every task on {@code pfault_list} is woken. */
    void cpuDead(long now) {
        ArrayList<Task> list = kernel.pfaultList;
        for (Task t : new ArrayList<>(list)) {
            t.pfaultWait = 0;
            kernel.metrics.taskWait.record(now - t.sleepStart);
            kernel.wake(t, now, id);
        }
        list.clear();
    }
}
