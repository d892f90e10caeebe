package dev.apfsim.guest;

import dev.apfsim.arch.arm64.Arm64Apf;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.InterruptController;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/**
 * The guest half of async PF on one CPU, as {@code arch/x86/kernel/kvm.c} has it: the #PF entry that tells an async
 * "page not present" from a regular fault (and panics where Linux does), the wait on a token, the page-ready
 * interrupt and the wake-ups through the global sleeper table. On an arm64 host it is the guest of Gavin Shan's
 * RFCv2 (seed thread 002): notifications arrive as data aborts, or with the SDEI design as an SDEI event and a
 * PPI. The per-CPU {@code async_pf_enabled} and {@code apf_reason} area, and the calls that set them, are
 * {@link ApfRegistration}'s; the nested (L1/L2) paths are {@link NestedAsyncPf}'s.
 */
final class GuestAsyncPf {
    private final GuestKernel kernel;
    private final int id;
    private final GuestCpu.Platform platform;
    private final InterruptController lapic;
    private final HandlerFrames frames;
    private final Scheduler scheduler;
    private final ApfRegistration registration;
    /** s390: the pfault handler, whose {@code pfault_cpu_dead} replaces the wake-all. */
    S390PfaultHandler s390;

    GuestAsyncPf(GuestKernel kernel, int id, GuestCpu.Platform platform, HandlerFrames frames, Scheduler scheduler,
                 ApfRegistration registration) {
        this.kernel = kernel;
        this.id = id;
        this.platform = platform;
        this.lapic = platform.interruptController();
        this.frames = frames;
        this.scheduler = scheduler;
        this.registration = registration;
    }

    /** {@code kvm_guest_cpu_offline}: APF off, then wake every sleeper of this CPU. */
    Action[] offlineActions() {
        Action[] off = registration.disableActions();
        Action[] out = java.util.Arrays.copyOf(off, off.length + 1);
        out[off.length] = s390 != null ? new Action.Op((c, t) -> s390.cpuDead(t)) // pfault_cpu_dead
                : new Action.Op((c, t) -> taskWake(t, 0xffffffffL));
        return out;
    }

    // ---- delivery: enter the handler --------------------------------------------------------------------

    /** An exception injected by the host (outside L2): only #PF is modelled. */
    void deliverException(int vector, long cr2) {
        long fault = kernel.faultEntered(kernel.sim.now(), id);
        Frame f = frames.enter(Frame.Kind.PAGE_FAULT,
                kernel.pfHandlerStep,
                new Action.Op((c, t) -> excPageFault(t, cr2, fault)));
        if (vector != ApfMsr.PF_VECTOR) {
            f.clearSteps(); // only #PF is modelled; anything else is acknowledged and ignored
        }
    }

    /** A #PF of the guest's own page tables (no VM exit under TDP). */
    void nativePageFault(long now, long address) {
        long fault = kernel.faultEntered(now, id);
        frames.enter(Frame.Kind.PAGE_FAULT, kernel.pfHandlerStep,
                new Action.Op((c, t) -> excPageFault(t, address, fault)));
    }

    /** arm64: an injected data abort the exception windows let through ({@code fault} names its entry). */
    void deliverDataAbort(long far, long fault) {
        frames.enter(Frame.Kind.PAGE_FAULT, kernel.pfHandlerStep,
                new Action.Op((c, t) -> arm64AsyncPf(t, far, fault)));
    }

    /** An SDEI event: entered at the registered handler with its own saved context, never through VBAR_EL1. */
    void deliverSdeiEvent(long arg) {
        long fault = kernel.faultEntered(kernel.sim.now(), id);
        frames.enter(Frame.Kind.SDEI, kernel.pfHandlerStep,
                new Action.Op((c, t) -> arm64AsyncPf(t, arg, fault)));
    }

    /** The page-ready vector arrived: {@code sysvec_kvm_asyncpf_interrupt} runs after the handler's cost. */
    void deliverPageReady() {
        frames.enter(Frame.Kind.INTERRUPT, kernel.irqHandlerStep,
                new Action.Op((c, t) -> pageReadyInterrupt(t)));
    }

    // ---- the handlers -------------------------------------------------------------------------------

    /**
     * {@code exc_page_fault} → {@code kvm_handle_async_pf} → {@code __kvm_handle_async_pf} (≤5.7:
     * {@code do_async_page_fault}, which also took reason 2 = page ready). {@code fault} names the entry.
     */
    private void excPageFault(long now, long cr2, long fault) {
        Frame f = frames.top();
        int flags = registration.readAndResetFlags();
        kernel.faultClassified(now, id, fault, Probe.Site.X86_PF, flags, cr2);
        if (flags == 0) {
            regularPageFault(now, cr2);
            return;
        }
        if (flags == ApfMsr.KVM_PV_REASON_PAGE_READY && kernel.config.apf() == GuestConfig.ApfMode.LINUX_LEGACY) {
            taskWake(now, cr2); // ≤5.7: page ready by #PF, no ACK
            return;
        }
        if (!f.savedIf) {
            kernel.panic(now, id, "Host injected async #PF in interrupt disabled region");
            return;
        }
        if ((flags & ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT) == 0) {
            return; // WARN_ONCE "Unexpected async PF flags"
        }
        if (f.savedCpl == 0 && kernel.config.apf() != GuestConfig.ApfMode.LINUX_LEGACY) {
            kernel.panic(now, id, "Host injected async #PF in kernel mode"); // ≤5.7 guests took them
            return;
        }
        kernel.metrics.counters.inc(Counter.GUEST_PF_ASYNC);
        if (kernel.config.pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT || scheduler.current() == null) {
            return;
        }
        taskWaitSchedule(now, cr2);
    }

    /**
     * RFCv2's guest data abort hook (and the SDEI handler): read and clear the reason word, then page not
     * present → sleep on the token ({@code far}), page ready → wake it; reason 0 is an ordinary data abort.
     */
    private void arm64AsyncPf(long now, long far, long fault) {
        int reason = registration.readAndResetFlags();
        kernel.faultClassified(now, id, fault, Probe.Site.ARM64_ABORT, reason, far);
        if (reason == 0) {
            regularPageFault(now, far);
            return;
        }
        if (reason == Arm64Apf.KVM_PV_REASON_PAGE_READY) {
            taskWake(now, far);
            return;
        }
        if (reason != Arm64Apf.KVM_PV_REASON_PAGE_NOT_PRESENT) {
            return;
        }
        kernel.metrics.counters.inc(Counter.GUEST_PF_ASYNC);
        if (kernel.config.pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT || scheduler.current() == null) {
            return;
        }
        taskWaitSchedule(now, far);
    }

    /**
     * A #PF the guest believes is its own ({@code do_user_addr_fault}): an address the faulting user task maps is
     * fixed up and retried; one it does not map is a bad access and the task gets SIGSEGV. An async #PF taken as
     * a regular one lands here with a token in CR2, which no task maps.
     */
    private void regularPageFault(long now, long cr2) {
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
        t.apfWaits++;
        t.sleepToken = token;
        kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, t.id, token, false));
        scheduler.sleep(t, Task.State.APF_SLEEP, now);
    }

    /** {@code sysvec_kvm_asyncpf_interrupt}: EOI, wake, clear the token slot, then ACK. */
    private void pageReadyInterrupt(long now) {
        lapic.eoi();
        kernel.metrics.counters.inc(Counter.GUEST_APF_IRQS);
        if (!registration.enabled()) {
            return;
        }
        long area = registration.areaGpa();
        long token = Integer.toUnsignedLong(kernel.ram.read32(area + ApfMsr.OFFSET_TOKEN));
        // seed 004 patch 2: the page could not be brought in; the woken task gets SIGBUS
        boolean error = kernel.ram.read32(area + ApfMsr.OFFSET_PAGEREADY_FLAGS) != 0;
        if (error) {
            kernel.ram.write32(area + ApfMsr.OFFSET_PAGEREADY_FLAGS, 0);
            SleeperTable.Node n = kernel.sleepers.find(token);
            if (n != null && !n.dummy()) {
                n.task().pendingSigbus = true;
            }
        }
        taskWake(now, token);
        kernel.ram.write32(area + ApfMsr.OFFSET_TOKEN, 0);
        frames.top().then(registration.ackAction());
    }

    /** {@code kvm_async_pf_task_wake}; the all-ones token is {@code apf_task_wake_all} for this CPU. */
    void taskWake(long now, long token) {
        if (token == 0xffffffffL) {
            int woken = 0;
            for (SleeperTable.Node n : kernel.sleepers.removeAllOfCpu(id)) {
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
            wakeSleeper(n.task(), now);
        } else if (n == null) {
            kernel.metrics.counters.inc(Counter.GUEST_DUMMY_NODES); // the wake came first: leave a dummy
            kernel.sleepers.add(new SleeperTable.Node(token, id, null));
            kernel.tracer.emit(new TraceEvent.GuestApfWake(now, id, -1, token));
        }
    }

    private void wakeSleeper(Task t, long now) {
        kernel.metrics.taskWait.record(now - t.sleepStart);
        kernel.wake(t, now, id);
    }
}
