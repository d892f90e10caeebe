package dev.apfsim.guest;

import dev.apfsim.engine.Choices;

import dev.apfsim.perturb.Perturbation;
import dev.apfsim.arch.GuestCode;
import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.CpuState;
import dev.apfsim.arch.InterruptController;
import dev.apfsim.engine.Simulator;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.TimeCategory;

import java.util.function.Function;

/**
 * One guest CPU of the generic kernel: runs the current task or the kernel handler on top of it, and takes the
 * exits and events the host hands it. What it runs is split by concern: {@link HandlerFrames} (handlers stacked on
 * the task), {@link Scheduler} (run queue, sleeps, tick), {@link GuestAsyncPf} (the wait on a token and the
 * wake-ups), {@link PerturbationHandler} (scripted events). Everything of one architecture (its exceptions,
 * its async PF registration and notifications, its own instructions) is its {@link ArchEntry}, which is also what
 * the host's vCPU holds: {@code guest.x86}, {@code guest.arm64}, {@code guest.s390}.
 */
public final class GuestCpu implements GuestCode {
    /** What the CPU needs from the hardware around it. */
    public interface Platform {
        CpuState state();

        /** The guest's side of its interrupt controller (EOI, pending). */
        InterruptController interruptController();

        /** Raise {@code vector} on {@code cpu}'s LAPIC (IPI, or this CPU's own timer). */
        void sendIpi(int cpu, int vector);

        /** Raise the LAPIC timer interrupt of this CPU. */
        void timerInterrupt();

        /** The vector the timer interrupt arrives with (Linux x86: LOCAL_TIMER_VECTOR). */
        int timerVector();

        /** The vector of the reschedule IPI (Linux x86: RESCHEDULE_VECTOR). */
        int rescheduleVector();

        /** CPUID offers KVM_FEATURE_ASYNC_PF_VMEXIT (Linux then sets EN bit 2). */
        boolean offersPfVmexit();

        /** CPUID offers KVM_FEATURE_ASYNC_PF_INT (bit 14): a Linux ≥ 5.9 guest enables async PF only then. */
        boolean offersAsyncPfInt();

        /** CPUID offers KVM_FEATURE_ASYNC_PF (bit 4): what a Linux ≤ 5.7 guest checks before enabling. */
        boolean offersAsyncPf();

        /** arm64 host with the SDEI-based design: not-present is an SDEI event, page-ready a PPI plus ACK call. */
        default boolean sdeiAsyncPf() {
            return false;
        }
    }

    final int id;
    final Platform platform;
    final GuestKernel kernel;
    private final CpuState cpu;
    private final InterruptController lapic;
    private final ArchEntry entry;
    final HandlerFrames frames;
    final Scheduler scheduler;
    final GuestAsyncPf asyncPf;
    private final PerturbationHandler perturbations;
    private boolean booted;
    /** CPU hotplug state: {@code kvm_cpu_down_prepare} ran and {@code kvm_cpu_online} has not yet. */
    private boolean online = true;

    // the compute segment the host is waiting on
    private long segStart = -1;
    private long segEnd = -1;
    private Context segCtx;
    /** Instruction boundaries left before a held-back kick makes the guest exit (0: none held back). */
    private int boundaries;
    /** The answer "still in the guest", reused (the host reads it before it runs this CPU again). */
    private final GuestExit.Continue stillRunning = new GuestExit.Continue();

    GuestCpu(GuestKernel kernel, int id, Platform platform, Function<GuestCpu, ? extends ArchEntry> arch) {
        this.kernel = kernel;
        this.id = id;
        this.platform = platform;
        this.cpu = platform.state();
        this.lapic = platform.interruptController();
        this.entry = arch.apply(this);
        this.frames = new HandlerFrames(cpu, entry.windows());
        this.scheduler = new Scheduler(kernel, id, platform, cpu, frames, this::unchargedOfCurrent);
        scheduler.onSwitch = entry::switchedTo;
        this.asyncPf = new GuestAsyncPf(kernel, id, frames, scheduler);
        this.perturbations = new PerturbationHandler(id, cpu, lapic, frames, entry);
    }

    /** This CPU's architecture entry code (what the host's vCPU holds). */
    public ArchEntry entry() {
        return entry;
    }

    public boolean apfEnabled() {
        return entry.apfEnabled();
    }

    public long areaGpa() {
        return entry.areaGpa();
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
        GuestExit e = runToExit(now, horizon);
        if (!(e instanceof GuestExit.Continue)) {
            boundaries = 0; // an exit of its own: the next entry injects what the held-back kick was for
        }
        return e;
    }

    @Override
    public long computeEnd() {
        return segEnd;
    }

    @Override
    public void exitAtBoundary(int k) {
        boundaries = boundaries == 0 ? k : Math.min(boundaries, k); // a kick held back before may exit first
    }

    /** Counts an instruction boundary: true when it is the one a held-back kick exits at. */
    private boolean boundaryReached() {
        return boundaries > 0 && --boundaries == 0;
    }

    private GuestExit runToExit(long now, long horizon) {
        long t = now;
        if (segEnd >= 0) {
            finishSegment(segEnd);
            if (boundaryReached()) {
                return new GuestExit.ExternalInterrupt(t); // the compute step retired: the next instruction waits
            }
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
            if (cpu.windowExitDue()) {
                // the interrupt window opened at this instruction boundary (IF=1, no STI shadow): the VM exit that
                // lets the host inject what it could not before (SDM: interrupt-window exiting; vmx_interrupt_blocked)
                return new GuestExit.IrqWindow(t);
            }
            if (frames.isEmpty() && scheduler.switchDeferred()) {
                scheduler.returnedToTask(t); // the interrupts are in: schedule() now
                continue;
            }
            Task current = scheduler.current();
            Context ctx = frames.isEmpty() ? current : frames.top();
            if (ctx == null) {
                if (scheduler.switchToNext(t)) {
                    continue;
                }
                // idle: safe_halt (sti; hlt); NOHZ stops the tick. A test guest has no idle loop: its vCPU stops
                // where its program ended, in a hlt with IF as the program left it
                scheduler.idle();
                if (!kernel.config.isTest()) {
                    cpu.interruptFlag = true;
                    cpu.cpl = 0;
                }
                return new GuestExit.Hlt(t);
            }
            Action a = ctx.action();
            boolean shadow = cpu.interruptShadow;
            // The STI shadow covers exactly one instruction. A compute step is many: its first one is the shadow
            // and the window opens right after it. A test guest's touch starts with an instruction of its own too
            // (the "mov $gva, %rax" of the access), so the interrupt is taken before the access.
            if (shadow && (a instanceof Action.Compute || (a instanceof Action.Touch && kernel.config.isTest()))) {
                cpu.interruptShadow = false;
                continue;
            }
            switch (a) {
                case Action.Compute c -> {
                    if (ctx.remaining < 0) {
                        ctx.remaining = kernel.sim.choices().cost(Choices.Cost.GUEST_COMPUTE, c.ns());
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
                        cpu.interruptShadow = cpu.unmaskShadow(); // x86: blocks interrupts for one more instruction
                        if (boundaryReached()) {
                            return new GuestExit.ExternalInterrupt(t); // the shadow survives the exit (VMCS state)
                        }
                        continue;
                    }
                }
                case Action.Popf p -> {
                    cpu.interruptFlag = p.interruptFlag(); // POPF sets IF without a shadow (em_popf)
                    ctx.advance();
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
                    return entry.execute(t, w);
                }
                case Action.RdMsr r -> {
                    ctx.advance();
                    return entry.execute(t, r);
                }
                case Action.Io io -> {
                    ctx.advance();
                    return entry.execute(t, io);
                }
                case Action.Hvc h -> {
                    ctx.advance();
                    return entry.execute(t, h);
                }
                case Action.Diag d -> {
                    ctx.advance();
                    return entry.execute(t, d);
                }
                case Action.SetPaging p -> {
                    ctx.advance();
                    return new GuestExit.PagingWrite(t, p.on());
                }
                case Action.SetCr3 c -> {
                    ctx.advance();
                    cpu.pgd = c.cr3();
                    if (entry.interceptsPgdWrite()) {
                        return new GuestExit.PgdWrite(t, c.cr3()); // shadow paging intercepts CR3 loads
                    }
                }
                case Action.SetGuestMode g -> {
                    ctx.advance();
                    return new GuestExit.NestedSwitch(t, g.l2());
                }
                case Action.RegularFault f -> {
                    ctx.advance();
                    entry.nativePageFault(t, f.address());
                }
                case Action.SetLapicEnabled l -> {
                    ctx.advance();
                    return new GuestExit.IrqControllerEnable(t, l.on());
                }
                case Action.Init i -> {
                    ctx.advance();
                    return new GuestExit.Init(t);
                }
                case Action.CpuOffline o -> {
                    ctx.advance();
                    if (online) { // cpuhp: taking an offline CPU down again is a no-op
                        online = false;
                        frames.enter(Frame.Kind.HOTPLUG, entry.downPrepareActions()); // local_irq_save
                    }
                }
                case Action.CpuOnline o -> {
                    ctx.advance();
                    if (!online) {
                        online = true;
                        frames.enter(Frame.Kind.HOTPLUG, entry.onlineActions());
                    }
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
                cpu.interruptShadow = false; // the instruction after STI retired
            }
            if (!(a instanceof Action.OpDone) && boundaryReached()) { // OpDone is bookkeeping, no instruction
                return new GuestExit.ExternalInterrupt(t);
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
        boundaries = 0;
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
    public void deliverInterrupt(long now, int vector) {
        kernel.metrics.counters.inc(Counter.GUEST_IRQS);
        // Linux's IDT has the timer handler at LOCAL_TIMER_VECTOR whatever vector the guest registered for
        // page-ready (sysvec_kvm_asyncpf_interrupt is at HYPERVISOR_CALLBACK_VECTOR); a test guest has only the
        // handlers it describes, and no timer handler on its page-ready vector (the scenario forbids a tick there)
        boolean timerGate = vector == platform.timerVector() && !kernel.config.isTest();
        if (!timerGate && entry.isPageReadyVector(vector)) {
            entry.deliverPageReady();
        } else if (vector == Perturbation.VECTOR) {
            frames.enter(Frame.Kind.INTERRUPT, new Action.Op((c, t) -> perturbations.run(t)));
        } else if (vector == platform.timerVector()) {
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
    public void reset(long now) {
        // INIT: the CPU restarts; the guest kernel must enable async PF again (per-CPU state is lost)
        frames.clear();
        boundaries = 0;
        entry.resetRegistration();
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
        Action[] enable = entry.enableActions();
        if (enable.length > 0) {
            frames.enter(Frame.Kind.BOOT, enable);
        }
    }
}
