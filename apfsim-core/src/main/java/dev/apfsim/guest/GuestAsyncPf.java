package dev.apfsim.guest;

import dev.apfsim.engine.Mutants;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/**
 * The architecture-neutral half of the guest's async PF on one CPU: the wait on a token, the wake-ups through the
 * global sleeper table ({@code kvm_async_pf_task_wait_schedule}, {@code kvm_async_pf_task_wake} in
 * {@code arch/x86/kernel/kvm.c}, which the arm64 RFC copies) and the regular fault a non-async #PF is. The entry
 * code that decides what a fault or a notification is lives in the architecture packages.
 */
final class GuestAsyncPf {
    private final GuestKernel kernel;
    private final int id;
    private final HandlerFrames frames;
    private final Scheduler scheduler;

    GuestAsyncPf(GuestKernel kernel, int id, HandlerFrames frames, Scheduler scheduler) {
        this.kernel = kernel;
        this.id = id;
        this.frames = frames;
        this.scheduler = scheduler;
    }

    /**
     * A #PF the guest believes is its own ({@code do_user_addr_fault}): an address the faulting user task maps is
     * fixed up and retried; one it does not map is a bad access and the task gets SIGSEGV. An async #PF taken as
     * a regular one lands here with a token in CR2, which no task maps.
     */
    void regularPageFault(long now, long cr2) {
        kernel.metrics.counters.inc(Counter.GUEST_PF_REGULAR);
        Task t = scheduler.current();
        kernel.tracer.emit(new TraceEvent.GuestPageFault(now, id, t == null ? -1 : t.id, cr2));
        if (t != null && frames.depth() == 1 && frames.top().savedCpl != 0 && !t.maps(cr2)) {
            scheduler.kill(t, now, "SIGSEGV", cr2);
        }
    }

    /** {@code kvm_async_pf_task_wait_schedule}: consume a dummy, or sleep until the token is woken. */
    void taskWaitSchedule(long now, long token) {
        SleeperTable.Node dummy = kernel.sleepers.find(token);
        Task t = scheduler.current();
        if (dummy != null) {
            kernel.sleepers.remove(dummy); // the wake came first
            kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, t.id, token, true));
            return;
        }
        kernel.sleepers.add(new SleeperTable.Node(token, id, t));
        sleepOnToken(t, token, now);
    }

    /** The current task sleeps until its token is woken (the sleeper table or s390's list holds it). */
    void sleepOnToken(Task t, long token, long now) {
        t.apfWaits++;
        t.sleepToken = token;
        kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, t.id, token, false));
        scheduler.sleep(t, Task.State.APF_SLEEP, now);
    }

    /** The sleeper of {@code token}, if any, gets SIGBUS when it runs again (seed 004 patch 2). */
    void markSigbus(long token) {
        SleeperTable.Node n = kernel.sleepers.find(token);
        if (n != null && !n.dummy()) {
            n.task().pendingSigbus = true;
        }
    }

    /** {@code kvm_async_pf_task_wake}; the all-ones token is {@code apf_task_wake_all} for this CPU. */
    void taskWake(long now, long token) {
        if (token == ArchEntry.WAKE_ALL) {
            int woken = 0;
            // apf_task_wake_all: only the nodes with n->cpu == smp_processor_id()
            int scope = Mutants.on(Mutants.Mutant.WAKE_ALL_EVERY_CPU) ? -1 : id;
            for (SleeperTable.Node n : kernel.sleepers.removeAllOfCpu(scope)) {
                kernel.tracer.probe(new Probe.WakeAllUnhashed(now, id, n.cpu(), n.token(),
                        n.dummy() ? -1 : n.task().id));
                if (!n.dummy()) {
                    wakeSleeper(n.task(), now);
                    woken++;
                }
            }
            kernel.tracer.emit(new TraceEvent.GuestApfWakeAll(now, id, woken));
            return;
        }
        SleeperTable.Node n = kernel.sleepers.find(token);
        if (n != null && !n.dummy()) {
            kernel.sleepers.remove(n);
            kernel.tracer.emit(new TraceEvent.GuestApfWake(now, id, n.task().id, token));
            if (!Mutants.on(Mutants.Mutant.GUEST_SKIPS_WAKE)) {
                wakeSleeper(n.task(), now);
            }
        } else if (n == null) {
            kernel.metrics.counters.inc(Counter.GUEST_DUMMY_NODES); // the wake came first: leave a dummy
            kernel.sleepers.add(new SleeperTable.Node(token, id, null));
            kernel.tracer.emit(new TraceEvent.GuestApfWake(now, id, -1, token));
        }
    }

    void wakeSleeper(Task t, long now) {
        kernel.metrics.taskWait.record(now - t.sleepStart);
        kernel.wake(t, now, id);
    }
}
