package dev.apfsim.guest;

import dev.apfsim.perturb.Perturbation;
import dev.apfsim.arch.arm64.Arm64CpuState;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.CpuState;
import dev.apfsim.arch.InterruptController;
import dev.apfsim.arch.arm64.Arm64Exit;
import dev.apfsim.arch.arm64.Arm64GuestCode;
import dev.apfsim.arch.x86.X86CpuState;
import dev.apfsim.arch.x86.X86Exit;
import dev.apfsim.arch.s390.S390CpuState;
import dev.apfsim.arch.s390.S390Exit;
import dev.apfsim.arch.s390.S390GuestCode;
import dev.apfsim.arch.x86.X86GuestCode;
import dev.apfsim.engine.Simulator;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.TimeCategory;

/**
 * One guest CPU: runs the current task or the kernel handler on top of it, and takes the exits and events the host
 * hands it through the architecture's boundary ({@link X86GuestCode}, {@link Arm64GuestCode},
 * {@link S390GuestCode}). What it runs is split by concern: {@link HandlerFrames} (handlers stacked on the task), {@link Scheduler} (run queue, sleeps, tick), {@link ApfRegistration} and {@link GuestAsyncPf} (the guest
 * half of async PF, {@code arch/x86/kernel/kvm.c}), {@link NestedAsyncPf} (L0's async #PF when this guest runs an
 * L2), {@link S390PfaultHandler} (s390 {@code pfault_interrupt}), {@link PerturbationHandler} (scripted events).
 *
 * <p>On an arm64 host ({@link Arm64CpuState}) it is the guest of Gavin Shan's RFCv2 (seed thread 002): it enables
 * async PF with an SMCCC call, takes both notifications as data aborts (or, with the SDEI design, not-present as
 * an SDEI event and page-ready as a PPI it acknowledges with a call), and every exception handler frame runs
 * through the non-reentrant windows of the arm64 entry code ({@link Arm64ExceptionWindows}). A data abort injected
 * in one of them breaks {@code exception-state-clobbered} and the guest panics.
 */
public final class GuestCpu implements X86GuestCode, Arm64GuestCode, S390GuestCode {
    /** What the CPU needs from the hardware around it. */
    public interface Platform {
        CpuState state();

        /** The guest's side of its interrupt controller (EOI, pending). */
        InterruptController interruptController();

        /** Raise {@code vector} on {@code cpu}'s LAPIC (IPI, or this CPU's own timer). */
        void sendIpi(int cpu, int vector);

        /** Raise the LAPIC timer interrupt of this CPU. */
        void timerInterrupt();

        /** CPUID offers KVM_FEATURE_ASYNC_PF_VMEXIT (Linux then sets EN bit 2). */
        boolean offersPfVmexit();

        /** arm64 host with the SDEI-based design: not-present is an SDEI event, page-ready a PPI plus ACK call. */
        default boolean sdeiAsyncPf() {
            return false;
        }
    }

    final int id;
    final Platform platform;
    private final GuestKernel kernel;
    private final CpuState cpu;
    private final InterruptController lapic;
    /** The arm64 entry/exit windows, or null on an x86 host. */
    private final Arm64ExceptionWindows arm64Windows;
    private final HandlerFrames frames;
    final Scheduler scheduler;
    private final ApfRegistration registration;
    private final GuestAsyncPf asyncPf;
    private final NestedAsyncPf nested;
    private final PerturbationHandler perturbations;
    /** s390 pfault ({@code arch/s390/mm/pfault.c}), or null on the other architectures. */
    private final S390PfaultHandler pfault;
    private boolean booted;

    // the compute segment the host is waiting on
    private long segStart = -1;
    private long segEnd = -1;
    private Context segCtx;
    /** The answer "still in the guest", reused (the host reads it before it runs this CPU again). */
    private final GuestExit.Continue stillRunning = new GuestExit.Continue();

    GuestCpu(GuestKernel kernel, int id, Platform platform) {
        this.kernel = kernel;
        this.id = id;
        this.platform = platform;
        this.cpu = platform.state();
        this.lapic = platform.interruptController();
        Arm64CpuState arm = cpu instanceof Arm64CpuState a ? a : null;
        this.arm64Windows = arm != null ? new Arm64ExceptionWindows(kernel, id, arm) : null;
        this.frames = new HandlerFrames(cpu, arm64Windows);
        this.scheduler = new Scheduler(kernel, id, platform, cpu, frames, this::unchargedOfCurrent);
        boolean s390 = cpu instanceof S390CpuState;
        this.registration = new ApfRegistration(kernel, id, platform, arm != null, s390);
        this.asyncPf = new GuestAsyncPf(kernel, id, platform, frames, scheduler, registration);
        this.nested = new NestedAsyncPf(kernel, id, platform, frames, scheduler, registration, asyncPf);
        if (s390) {
            this.pfault = new S390PfaultHandler(kernel, id, frames, scheduler);
            asyncPf.s390 = pfault;
            long lowcore = registration.areaGpa();
            scheduler.onSwitch = t -> kernel.ram.write32(lowcore + 4, (int) t.pid()); // __LC_CURRENT_PID
        } else {
            this.pfault = null;
        }
        this.perturbations = new PerturbationHandler(id, cpu, lapic, frames, registration, asyncPf);
    }

    public boolean apfEnabled() {
        return registration.enabled();
    }

    public long areaGpa() {
        return registration.areaGpa();
    }

    public Task current() {
        return scheduler.current();
    }

    /** Queues a perturbation; its IPI (vector 0xf1) makes this CPU run it. */
    public void queuePerturbation(Perturbation p) {
        perturbations.queue(p);
    }

    // ---- GuestCode ------------------------------------------------------------------------------------

    @Override
    public GuestExit run(long now, long horizon) {
        long t = now;
        if (segEnd >= 0) {
            finishSegment(segEnd);
        }
        if (!booted) {
            boot();
        }
        long instant = t;
        long steps = 0;
        while (true) {
            if (t != instant) {
                instant = t;
                steps = 0;
            } else if (++steps > Simulator.MAX_STEPS_PER_INSTANT) {
                kernel.sim.noProgress(t); // a loop of zero-time actions: stop the run rather than hang
                return stillRunning.at(t);
            }
            if (kernel.panicked) {
                return new GuestExit.Dead(t);
            }
            Task current = scheduler.current();
            Context ctx = frames.isEmpty() ? current : frames.top();
            if (ctx == null) {
                if (scheduler.switchToNext(t)) {
                    continue;
                }
                // idle: safe_halt (sti; hlt); NOHZ stops the tick
                scheduler.idle();
                cpu.interruptFlag = true;
                cpu.cpl = 0;
                return new GuestExit.Hlt(t);
            }
            Action a = ctx.action();
            boolean shadow = cpu.interruptShadow;
            switch (a) {
                case Action.Compute c -> {
                    if (ctx.remaining < 0) {
                        ctx.remaining = c.ns();
                    }
                    if (t + ctx.remaining <= horizon) {
                        charge(ctx, ctx.remaining);
                        t += ctx.remaining;
                        ctx.advance();
                    } else {
                        segStart = t;
                        segEnd = t + ctx.remaining;
                        segCtx = ctx;
                        return stillRunning.at(segEnd);
                    }
                }
                case Action.Touch touch -> {
                    if (kernel.memory.accessMapped(touch.gva() >>> 12)) {
                        ctx.advance();
                    } else {
                        return new GuestExit.MemoryFault(t, touch.gva(), touch.gva(), touch.write());
                    }
                }
                case Action.Cli c -> {
                    cpu.interruptFlag = false;
                    ctx.advance();
                }
                case Action.Sti s -> {
                    ctx.advance();
                    if (!cpu.interruptFlag) {
                        cpu.interruptFlag = true;
                        cpu.interruptShadow = true; // blocks interrupts for one more instruction
                        continue;
                    }
                }
                case Action.KernelMode k -> {
                    cpu.cpl = k.kernel() ? 0 : 3;
                    ctx.advance();
                }
                case Action.Hlt h -> {
                    ctx.advance();
                    cpu.interruptShadow = false;
                    return new GuestExit.Hlt(t);
                }
                case Action.WrMsr w -> {
                    ctx.advance();
                    registration.noteMsrWrite(w);
                    return new X86Exit.WrMsr(t, w.msr(), w.value());
                }
                case Action.RdMsr r -> {
                    ctx.advance();
                    return new X86Exit.RdMsr(t, r.msr());
                }
                case Action.Hvc h -> {
                    ctx.advance();
                    registration.noteHvc(h);
                    return new Arm64Exit.Hvc(t, h.func(), h.arg());
                }
                case Action.Diag d -> {
                    ctx.advance();
                    return new S390Exit.Diag(t, d.code(), d.rx());
                }
                case Action.SetPaging p -> {
                    ctx.advance();
                    return new GuestExit.PagingWrite(t, p.on());
                }
                case Action.SetCr3 c -> {
                    ctx.advance();
                    cpu.pgd = c.cr3();
                    if (cpu instanceof X86CpuState x && !x.tdp) {
                        return new GuestExit.PgdWrite(t, c.cr3()); // shadow paging intercepts CR3 loads
                    }
                }
                case Action.SetGuestMode g -> {
                    ctx.advance();
                    return new GuestExit.NestedSwitch(t, g.l2());
                }
                case Action.RegularFault f -> {
                    ctx.advance();
                    asyncPf.nativePageFault(t, f.address());
                }
                case Action.SetLapicEnabled l -> {
                    ctx.advance();
                    return new GuestExit.IrqControllerEnable(t, l.on());
                }
                case Action.Init i -> {
                    ctx.advance();
                    return new GuestExit.Init(t);
                }
                case Action.Sleep s -> {
                    ctx.advance();
                    scheduler.sleepFor((Task) ctx, s.ns(), t);
                }
                case Action.OpDone o -> {
                    ((Task) ctx).ops++;
                    ctx.advance();
                }
                case Action.Exit e -> scheduler.exit((Task) ctx, t);
                case Action.Op op -> {
                    ctx.advance();
                    op.op().run(this, t);
                }
                case Action.Iret r -> {
                    frames.iret();
                    if (frames.isEmpty()) {
                        scheduler.returnedToTask(t); // the preemption point on return from interrupt
                    }
                }
            }
            if (shadow) {
                cpu.interruptShadow = false;
            }
            if (a instanceof Action.Iret || a instanceof Action.Sti) {
                if (cpu.interruptAllowed() && lapic.hasInterrupt()) {
                    return new GuestExit.IrqWindow(t); // interrupt-window exit: the host injects now
                }
            }
        }
    }

    private void finishSegment(long now) {
        long elapsed = Math.max(0, Math.min(now, segEnd) - segStart);
        charge(segCtx, elapsed);
        if (now >= segEnd) {
            segCtx.advance();
        } else {
            segCtx.remaining -= elapsed;
        }
        segStart = segEnd = -1;
        segCtx = null;
    }

    /** Compute of the current task in the segment the host is running, not yet charged to it at {@code now}. */
    private long unchargedOfCurrent(long now) {
        if (segEnd < 0 || segCtx == null || segCtx != scheduler.current()) {
            return 0;
        }
        return Math.max(0, Math.min(now, segEnd) - segStart);
    }

    @Override
    public void preempt(long now) {
        if (segEnd >= 0) {
            finishSegment(now);
        }
    }

    private void charge(Context ctx, long ns) {
        if (ns <= 0) {
            return;
        }
        boolean kernelTime = ctx instanceof Frame || cpu.cpl == 0;
        kernel.metrics.vcpuTime[id].charge(kernelTime ? TimeCategory.GUEST_KERNEL : TimeCategory.GUEST_USER, ns);
        if (ctx instanceof Task task) {
            if (kernelTime) {
                task.kernelNs += ns;
            } else {
                task.userNs += ns;
            }
        } else if (ctx instanceof Frame f && f.kind != Frame.Kind.INTERRUPT && f.kind != Frame.Kind.BOOT
                && scheduler.current() != null) {
            scheduler.current().handlerNs += ns; // a #PF (or SDEI event, switch-in) runs on the task's behalf
        }
    }

    @Override
    public void deliverException(long now, int vector, int errorCode, long cr2) {
        if (cpu.guestMode) {
            nested.deliverExceptionToL2(cr2);
            return;
        }
        asyncPf.deliverException(vector, cr2);
    }

    @Override
    public void deliverNestedPfExit(long now, long token) {
        nested.deliverPfExit(token);
    }

    /**
     * {@code kvm_inject_dabt}: the exception is taken through VBAR_EL1 and overwrites ELR_EL1/SPSR_EL1 with the
     * interrupted context, which is lost inside a non-reentrant window of the entry code.
     */
    @Override
    public void deliverDataAbort(long now, long far) {
        long fault = kernel.faultEntered(now, id);
        if (arm64Windows.open()) {
            arm64Windows.clobbered(now, far, registration.arm64Reason(), frames.top());
            return;
        }
        asyncPf.deliverDataAbort(far, fault);
    }

    @Override
    public void deliverSdeiEvent(long now, long arg) {
        asyncPf.deliverSdeiEvent(arg);
    }

    @Override
    public void deliverExternalInterrupt(long now, int code, int subcode, long param64) {
        pfault.deliver(code, subcode, param64);
    }

    @Override
    public void diagResult(long ry) {
        registration.diagResult(ry);
    }

    /** s390 {@code irq_subclass_register(IRQ_SUBCLASS_SERVICE_SIGNAL)}: CR0 bit 9. */
    void s390ServiceSignal(boolean on) {
        ((S390CpuState) cpu).cr0ServiceSignal = on;
    }

    @Override
    public void hvcResult(long x0) {
        registration.hvcResult(x0);
    }

    @Override
    public void deliverInterrupt(long now, int vector) {
        kernel.metrics.counters.inc(Counter.GUEST_IRQS);
        if (registration.isPageReadyVector(vector)) {
            asyncPf.deliverPageReady();
        } else if (vector == Perturbation.VECTOR) {
            frames.enter(Frame.Kind.INTERRUPT, new Action.Op((c, t) -> perturbations.run(t)));
        } else if (vector == ApfMsr.LOCAL_TIMER_VECTOR) {
            frames.enter(Frame.Kind.INTERRUPT, kernel.timerHandlerStep,
                    new Action.Op((c, t) -> {
                        lapic.eoi();
                        scheduler.timerTick(t);
                    }));
        } else if (vector == Perturbation.DEVICE_VECTOR) {
            frames.enter(Frame.Kind.INTERRUPT, kernel.irqHandlerStep,
                    new Action.Op((c, t) -> lapic.eoi()));
        } else {
            frames.enter(Frame.Kind.INTERRUPT, new Action.Op((c, t) -> lapic.eoi()));
        }
    }

    @Override
    public void msrResult(boolean gp, long value) {
        // Linux uses wrmsrl() for the APF MSRs and never reads them back; a #GP is counted by the host (msr_gp)
    }

    @Override
    public void reset(long now) {
        // INIT: the CPU restarts; the guest kernel must enable async PF again (per-CPU state is lost)
        frames.clear();
        registration.reset();
        booted = false;
        segStart = segEnd = -1;
        segCtx = null;
        Task current = scheduler.current();
        if (current != null) {
            current.advance();
        }
        cpu.paging = true;
        cpu.interruptFlag = true;
        cpu.cpl = current == null ? 0 : (current.kernelMode ? 0 : 3);
    }

    /** Per-CPU enable at boot ({@code kvm_guest_cpu_init}): INT first, then EN, then async_pf_enabled. */
    private void boot() {
        booted = true;
        Action[] enable = registration.enableActions();
        if (enable.length > 0) {
            frames.enter(Frame.Kind.BOOT, enable);
        }
    }
}
