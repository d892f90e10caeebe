package dev.apfsim.guest.s390;

import dev.apfsim.guest.Task;

import java.util.ArrayList;
import java.util.List;

import static dev.apfsim.arch.s390.S390Pfault.*;

/**
 * The guest half of s390 pfault on one CPU ({@code arch/s390/mm/pfault.c}): {@code pfault_interrupt} for the
 * PFAULT_INIT and PFAULT_DONE external interruptions, with the per-task {@code thread.pfault_wait} (1: asleep on
 * the global {@code pfault_list}; -1: the completion came first) and {@code pfault_cpu_dead}. The token is the task's
 * pid, which the scheduler stores in the lowcore ({@code __switch_to_asm}: {@code __LC_CURRENT_PID}).
 */
final class S390PfaultHandler {
    private final S390Entry entry;
    private final PfaultList pfault;

    S390PfaultHandler(S390Entry entry, PfaultList pfault) {
        this.entry = entry;
        this.pfault = pfault;
    }

    /** {@code pfault_interrupt}, registered for {@code EXT_IRQ_CP_SERVICE}. */
    void pfaultInterrupt(long now, int code, int subcode, long param64) {
        if (code != EXT_IRQ_CP_SERVICE || (subcode & 0xff00) != SUBCODE_MASK) {
            return;
        }
        entry.countApfIrq(); // inc_irq_stat(IRQEXT_PFL)
        long pid = param64 & LPP_PID_MASK; // "the token (= pid of the affected task)"
        Task tsk = entry.task(pid);
        if (tsk == null) {
            return;
        }
        if ((subcode & PF_COMPLETE) != 0) {
            if (pfault.waitOf(tsk) == 1) {
                // "Initial interrupt was faster than the completion interrupt": wake the sleeper
                pfault.setWait(tsk, 0);
                pfault.list.remove(tsk);
                entry.woken(tsk, pid, now);
            } else if (tsk.state() == Task.State.RUNNING || tsk.state() == Task.State.RUNNABLE) {
                // "Completion interrupt was faster than initial interrupt"; otherwise a CANCEL leftover
                pfault.setWait(tsk, -1);
                entry.earlyCompletion(pid, now);
            }
            return;
        }
        if (tsk != entry.current()) {
            Task cur = entry.current();
            entry.warn(now, "WARN_ON_ONCE(tsk != current) in pfault_interrupt: PFAULT_INIT for task " + tsk.id
                    + " (token " + Long.toHexString(pid) + ") while " + (cur == null ? "the idle task" : "task "
                    + cur.id) + " runs; the notification is dropped and the task is not put to sleep");
            return;
        }
        entry.countAsyncPf();
        if (pfault.waitOf(tsk) == -1) {
            pfault.setWait(tsk, 0); // the completion came first: go on
            entry.waitSatisfied(tsk, pid, now);
            return;
        }
        if (pfault.waitOf(tsk) != 1) {
            pfault.setWait(tsk, 1);
            pfault.list.add(0, tsk); // list_add(&tsk->thread.list, &pfault_list)
        }
        // TASK_UNINTERRUPTIBLE + need_resched: the return to user space schedules the task out
        entry.sleep(tsk, pid, now);
    }

    /** {@code pfault_cpu_dead}: every task on {@code pfault_list} is woken. */
    void cpuDead(long now) {
        pfault.touch();
        List<Task> all = new ArrayList<>(pfault.list);
        for (Task t : all) {
            pfault.setWait(t, 0);
            entry.wake(t, now);
        }
        pfault.list.clear();
    }
}
