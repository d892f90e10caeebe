package dev.apfsim.guest;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.check.Invariant;
import dev.apfsim.check.Perturbation;
import dev.apfsim.kvm.arm64.Arm64AsyncPf;
import dev.apfsim.kvm.arm64.Arm64CpuState;
import dev.apfsim.kvm.x86.ApfMsr;
import dev.apfsim.kvm.x86.GuestCode;
import dev.apfsim.kvm.x86.GuestExit;
import dev.apfsim.kvm.x86.Lapic;
import dev.apfsim.kvm.x86.X86CpuState;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;

import java.util.ArrayDeque;

/**
 * One guest CPU: runs the current task or the kernel handler on top of it, schedules tasks, takes #PF and
 * interrupts, and implements the guest half of async PF ({@code arch/x86/kernel/kvm.c}).
 *
 * <p>On an arm64 host ({@link Arm64CpuState}) it is the guest of Gavin Shan's RFCv2 (seed thread 002): it enables
 * async PF with an SMCCC call, takes both notifications as data aborts (or, with the SDEI design, not-present as
 * an SDEI event and page-ready as a PPI it acknowledges with a call), and every exception handler frame runs
 * through the non-reentrant windows of the arm64 entry code: the vector stub and {@code kernel_entry} before
 * ELR_EL1/SPSR_EL1 are saved, {@code kernel_exit} after they are restored. A data abort injected in one of them
 * breaks {@code exception-state-clobbered} and the guest panics.
 */
public final class GuestCpu implements GuestCode, EventHandler {
    /** What the CPU needs from the hardware around it. */
    public interface Platform {
        X86CpuState state();

        Lapic lapic();

        /** Raise {@code vector} on {@code cpu}'s LAPIC (IPI, or this CPU's own timer). */
        void sendIpi(int cpu, int vector);

        /** Raise the LAPIC timer interrupt of this CPU. */
        void timerInterrupt();

        /** CPUID offers KVM_FEATURE_ASYNC_PF_VMEXIT (Linux then sets EN bit 2). */
        boolean offersPfVmexit();

        /** Checker's ground truth: the token of the async #PF just delivered, or -1 for a regular #PF. */
        long takeInjectedAsyncToken();

        /** arm64 host with the SDEI-based design: not-present is an SDEI event, page-ready a PPI plus ACK call. */
        default boolean sdeiAsyncPf() {
            return false;
        }
    }

    /** arm64 vector stub: a few instructions, then a branch to the el0/el1 handler. */
    static final long VECTOR_STUB_NS = 20;
    /** arm64 {@code kernel_entry} until ELR_EL1 and SPSR_EL1 are stored in {@code pt_regs}. */
    static final long KERNEL_ENTRY_NS = 60;
    /** arm64 {@code kernel_exit}: ELR_EL1/SPSR_EL1 restored, registers reloaded, ERET. */
    static final long KERNEL_EXIT_NS = 60;

    private static final int EV_TICK = 0;
    private static final int EV_SLEEP_DONE = 1;

    final int id;
    final Platform platform;
    private final GuestKernel kernel;
    private final X86CpuState cpu;
    private final Lapic lapic;
    /** The arm64 state (PC region, VBAR_EL1), or null on an x86 host. */
    private final Arm64CpuState arm;
    private final boolean sdei;
    private final ArrayDeque<Task> runqueue = new ArrayDeque<>();
    private final ArrayDeque<Frame> frames = new ArrayDeque<>();
    private Task current;
    private boolean needResched;
    private boolean booted;

    // per-CPU async PF state: async_pf_enabled and the apf_reason area
    private boolean apfEnabled;
    private long areaGpa;

    // the compute segment the host is waiting on
    private long segStart = -1;
    private long segEnd = -1;
    private Context segCtx;

    private boolean tickArmed;
    private long tickGen;

    GuestCpu(GuestKernel kernel, int id, Platform platform) {
        this.kernel = kernel;
        this.id = id;
        this.platform = platform;
        this.cpu = platform.state();
        this.lapic = platform.lapic();
        this.arm = cpu instanceof Arm64CpuState a ? a : null;
        this.sdei = arm != null && platform.sdeiAsyncPf();
        // arm64: struct kvm_vcpu_pv_apf_data is 68 bytes, so the 64-byte aligned per-CPU areas are 128 apart
        this.areaGpa = GuestKernel.APF_AREA_BASE + (arm != null ? 128L : 64L) * id;
    }

    public boolean apfEnabled() {
        return apfEnabled;
    }

    public long areaGpa() {
        return areaGpa;
    }

    public Task current() {
        return current;
    }

    void enqueue(Task t, long now) {
        t.state = Task.State.RUNNABLE;
        runqueue.addLast(t);
        armTick(now);
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
        while (true) {
            if (kernel.panicked) {
                return new GuestExit.Dead(t);
            }
            Context ctx = frames.isEmpty() ? current : frames.peekFirst();
            if (ctx == null) {
                Task next = runqueue.pollFirst();
                if (next != null) {
                    switchTo(next, t);
                    continue;
                }
                // idle: safe_halt (sti; hlt); NOHZ stops the tick
                disarmTick();
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
                        return new GuestExit.Continue(segEnd);
                    }
                }
                case Action.Touch touch -> {
                    if (kernel.memory.accessMapped(touch.gva() >>> 12)) {
                        ctx.advance();
                    } else {
                        return new GuestExit.EptViolation(t, touch.gva(), touch.gva(), touch.write());
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
                    noteApfMsrWrite(w);
                    return new GuestExit.WrMsr(t, w.msr(), w.value());
                }
                case Action.RdMsr r -> {
                    ctx.advance();
                    return new GuestExit.RdMsr(t, r.msr());
                }
                case Action.Hvc h -> {
                    ctx.advance();
                    noteApfHvc(h);
                    return new GuestExit.Hvc(t, h.func(), h.arg());
                }
                case Action.SetPaging p -> {
                    ctx.advance();
                    return new GuestExit.Cr0Write(t, p.on());
                }
                case Action.SetCr3 c -> {
                    ctx.advance();
                    cpu.cr3 = c.cr3();
                    if (!cpu.tdp) {
                        return new GuestExit.Cr3Write(t, c.cr3()); // shadow paging intercepts CR3 loads
                    }
                }
                case Action.SetGuestMode g -> {
                    ctx.advance();
                    return new GuestExit.NestedSwitch(t, g.l2());
                }
                case Action.RegularFault f -> {
                    ctx.advance();
                    platform.takeInjectedAsyncToken(); // a native #PF: nothing from the host
                    pushFrame(Frame.Kind.PAGE_FAULT, new Action.Compute(kernel.config.pfHandlerNs()),
                            new Action.Op((c, tt) -> c.excPageFault(tt, f.address(), -1)));
                }
                case Action.SetLapicEnabled l -> {
                    ctx.advance();
                    return new GuestExit.SpivWrite(t, l.on());
                }
                case Action.Init i -> {
                    ctx.advance();
                    return new GuestExit.Init(t);
                }
                case Action.Sleep s -> {
                    ctx.advance();
                    Task task = (Task) ctx;
                    sleep(task, Task.State.SLEEP, t);
                    kernel.sim.at(t + s.ns(), this, EV_SLEEP_DONE, task.id);
                }
                case Action.OpDone o -> {
                    ((Task) ctx).ops++;
                    ctx.advance();
                }
                case Action.Exit e -> {
                    Task task = (Task) ctx;
                    task.state = Task.State.DONE;
                    current = null;
                    kernel.tracer.emit(new TraceEvent.GuestTaskExit(t, id, task.id));
                    kernel.tracer.emit(new TraceEvent.GuestSwitch(t, id, task.id, -1));
                }
                case Action.Op op -> {
                    ctx.advance();
                    op.op().run(this, t);
                }
                case Action.Iret r -> iret(t);
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
        }
    }

    @Override
    public void deliverNestedPfExit(long now, long token) {
        long truth = platform.takeInjectedAsyncToken();
        pushFrame(Frame.Kind.PAGE_FAULT, new Action.Compute(kernel.config.pfHandlerNs()),
                new Action.Op((c, t) -> c.l1HandleAsyncPfExit(t, token, truth)));
    }

    /**
     * KVM as L1 after a #PF VM-exit from L2 ({@code vmx.c: handle_exception_irqoff}, {@code mmu.c:
     * kvm_handle_page_fault}): its own flags say "page not present", so the L1 vCPU thread sleeps on the token
     * until L0's page-ready interrupt wakes it, then resumes L2.
     */
    private void l1HandleAsyncPfExit(long now, long token, long asyncToken) {
        int flags = readAndResetApfFlags(); // host_apf_flags = kvm_read_and_reset_apf_flags()
        if ((flags == 0) != (asyncToken < 0)) {
            kernel.monitor.violation(now, id, Invariant.REASON_CONFUSION, "nested #PF exit with token "
                    + FtraceFormat.hex(token) + " and host_apf_flags " + flags);
        }
        if ((flags & ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT) == 0 || current == null) {
            return; // flags 0: an ordinary #PF exit, reflected to L2 (not modelled further)
        }
        kernel.metrics.counters.inc(Counter.GUEST_PF_ASYNC);
        asyncPfTaskWaitSchedule(now, token);
    }

    /**
     * A #PF injected straight into L2 (before adfe20fb4878, or a migrated nested async #PF that L1 does not
     * intercept): L2 knows nothing of L0's async PF, so it takes the token for a faulting address.
     */
    private void deliverExceptionToL2(long cr2) {
        long truth = platform.takeInjectedAsyncToken();
        Frame f = new Frame(Frame.Kind.PAGE_FAULT, cpu.interruptFlag, cpu.cpl, true,
                new Action.Compute(kernel.config.pfHandlerNs()),
                new Action.Op((c, t) -> c.l2PageFault(t, cr2, truth)));
        frames.push(f);
        cpu.interruptFlag = false;
        cpu.cpl = 0;
    }

    private void l2PageFault(long now, long cr2, long asyncToken) {
        if (asyncToken < 0) {
            return; // L2's own fault: it fixes it
        }
        kernel.monitor.violation(now, id, Invariant.REASON_CONFUSION, "async #PF token " + FtraceFormat.hex(cr2)
                + " meant for L1 delivered into L2, which takes it for a fault at that address");
        if (current != null) {
            kill(current, now, "SIGSEGV (in L2)", cr2);
        }
    }

    @Override
    public void deliverException(long now, int vector, int errorCode, long cr2) {
        if (cpu.guestMode) {
            deliverExceptionToL2(cr2);
            return;
        }
        long truth = platform.takeInjectedAsyncToken();
        Frame f = pushFrame(Frame.Kind.PAGE_FAULT,
                new Action.Compute(kernel.config.pfHandlerNs()),
                new Action.Op((c, t) -> c.excPageFault(t, cr2, truth)));
        if (vector != ApfMsr.PF_VECTOR) {
            f.actions.clear(); // only #PF is modelled; anything else is acknowledged and ignored
        }
    }

    // ---- arm64 (seed thread 002) -----------------------------------------------------------------------

    /**
     * {@code kvm_inject_dabt}: the exception is taken through VBAR_EL1 and overwrites ELR_EL1/SPSR_EL1 with the
     * interrupted context. Inside a non-reentrant window the previous values were not saved yet (vector stub,
     * {@code kernel_entry}) or were already restored ({@code kernel_exit}): they are lost.
     */
    @Override
    public void deliverDataAbort(long now, long far) {
        long truth = platform.takeInjectedAsyncToken();
        if (arm.window != Arm64CpuState.Window.NONE) {
            int reason = kernel.ram.read32(areaGpa + Arm64AsyncPf.OFFSET_REASON);
            String where = arm.window.key() + " (pc " + FtraceFormat.hex(arm.pc()) + ") of "
                    + describe(frames.peekFirst());
            String what = reason == Arm64AsyncPf.KVM_PV_REASON_PAGE_READY ? "page ready"
                    : reason == Arm64AsyncPf.KVM_PV_REASON_PAGE_NOT_PRESENT ? "page not present" : "reason " + reason;
            kernel.monitor.violation(now, id, Invariant.EXCEPTION_STATE_CLOBBERED, "data abort (" + what + ", token "
                    + FtraceFormat.hex(far) + ") injected in " + where
                    + ": ELR_EL1/SPSR_EL1 of the interrupted context are overwritten");
            kernel.panic(now, id, "exception state clobbered: data abort taken in " + arm.window.key()
                    + ", ELR_EL1/SPSR_EL1 lost");
            return;
        }
        pushFrame(Frame.Kind.PAGE_FAULT, new Action.Compute(kernel.config.pfHandlerNs()),
                new Action.Op((c, t) -> c.arm64AsyncPf(t, far, truth)));
    }

    /** An SDEI event: entered at the registered handler with its own saved context, never through VBAR_EL1. */
    @Override
    public void deliverSdeiEvent(long now, long arg) {
        long truth = platform.takeInjectedAsyncToken();
        pushFrame(Frame.Kind.SDEI, new Action.Compute(kernel.config.pfHandlerNs()),
                new Action.Op((c, t) -> c.arm64AsyncPf(t, arg, truth)));
    }

    private long lastHvcResult;

    @Override
    public void hvcResult(long x0) {
        lastHvcResult = x0;
    }

    private static String describe(Frame f) {
        if (f == null) {
            return "no handler";
        }
        return switch (f.kind) {
            case PAGE_FAULT -> "a data abort handler";
            case INTERRUPT -> "an interrupt handler";
            case SCHED -> "the return to user after a context switch";
            case SDEI -> "an SDEI handler";
            case BOOT -> "boot code";
        };
    }

    /**
     * RFCv2's guest data abort hook (and the SDEI handler): read and clear the reason word, then page not
     * present → sleep on the token ({@code far}), page ready → wake it; reason 0 is an ordinary data abort.
     */
    private void arm64AsyncPf(long now, long far, long asyncToken) {
        int reason = readAndResetApfFlags();
        if ((reason == 0) != (asyncToken < 0)) {
            kernel.monitor.violation(now, id, Invariant.REASON_CONFUSION, asyncToken >= 0
                    ? "async PF token " + FtraceFormat.hex(asyncToken) + " taken as a regular data abort (reason 0)"
                    : "regular data abort at " + FtraceFormat.hex(far) + " taken as async (stale reason " + reason
                    + ")");
        }
        if (reason == 0) {
            regularPageFault(now, far, asyncToken >= 0);
            return;
        }
        if (reason == Arm64AsyncPf.KVM_PV_REASON_PAGE_READY) {
            asyncPfTaskWake(now, far);
            return;
        }
        if (reason != Arm64AsyncPf.KVM_PV_REASON_PAGE_NOT_PRESENT) {
            return;
        }
        kernel.metrics.counters.inc(Counter.GUEST_PF_ASYNC);
        if (kernel.config.pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT || current == null) {
            return;
        }
        asyncPfTaskWaitSchedule(now, far);
    }

    /**
     * arm64 exception handler frames: vector stub and {@code kernel_entry} before the body, {@code kernel_exit}
     * after it. {@code vectorOffset} is the entry in the vector table (sync/IRQ, from EL1h or EL0).
     */
    private void addExceptionWindows(Frame f, int vectorOffset) {
        f.actions.addFirst(new Action.Op((c, t) -> c.arm.window = Arm64CpuState.Window.NONE)); // ELR/SPSR saved
        f.actions.addFirst(new Action.Compute(KERNEL_ENTRY_NS));
        f.actions.addFirst(new Action.Op((c, t) -> c.arm.window = Arm64CpuState.Window.KERNEL_ENTRY));
        f.actions.addFirst(new Action.Compute(VECTOR_STUB_NS));
        f.actions.addFirst(new Action.Op((c, t) -> {
            c.arm.vectorOffset = vectorOffset;
            c.arm.window = Arm64CpuState.Window.VECTORS;
        }));
        addExitWindow(f);
    }

    /** {@code kernel_exit}: restore ELR_EL1/SPSR_EL1, reload registers, ERET (the frame's IRET). */
    private static void addExitWindow(Frame f) {
        f.actions.addLast(new Action.Op((c, t) -> c.arm.window = Arm64CpuState.Window.KERNEL_EXIT));
        f.actions.addLast(new Action.Compute(KERNEL_EXIT_NS));
    }

    /** The RFCv2 guest's enabling calls (SDEI design: the PPI instead of the no-fault range). */
    private Action[] arm64EnableActions(long flags) {
        long fn = Arm64AsyncPf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID;
        Action first = sdei ? new Action.Hvc(fn, Arm64AsyncPf.APF_OP_IRQ | kernel.config.apfVector())
                : new Action.Hvc(fn, Arm64AsyncPf.APF_OP_NO_FAULT_RANGE | Arm64AsyncPf.DEFAULT_NO_FAULT_INST_RANGE);
        return new Action[]{first, new Action.Hvc(fn, Arm64AsyncPf.APF_OP_ENABLE | areaGpa | flags),
                new Action.Op((c, t) -> {
                    if (c.lastHvcResult == Arm64AsyncPf.SMCCC_RET_SUCCESS) {
                        c.kernel.ram.write32(c.areaGpa + Arm64AsyncPf.OFFSET_ENABLED, 1); // apf_data.enabled = 1
                    }
                })};
    }

    /** The guest's view of its own async PF calls (which area it registered, whether it enabled). */
    private void noteApfHvc(Action.Hvc h) {
        if (h.func() != Arm64AsyncPf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID) {
            return;
        }
        long op = h.arg() & Arm64AsyncPf.APF_OP_MASK;
        long val = h.arg() & ~Arm64AsyncPf.APF_OP_MASK;
        if (op == Arm64AsyncPf.APF_OP_ENABLE) {
            apfEnabled = (val & Arm64AsyncPf.KVM_ASYNC_PF_ENABLED) != 0;
            if (apfEnabled) {
                areaGpa = val & ~0x3fL;
            }
        } else if (op == Arm64AsyncPf.APF_OP_IRQ) {
            apfVectorInUse = (int) (val & 0xff);
        }
    }

    @Override
    public void deliverInterrupt(long now, int vector) {
        kernel.metrics.counters.inc(Counter.GUEST_IRQS);
        if (vector == kernel.config.apfVector() || (apfEnabled && vector == apfVectorInUse)) {
            pushFrame(Frame.Kind.INTERRUPT, new Action.Compute(kernel.config.irqHandlerNs()),
                    new Action.Op(GuestCpu::asyncPfInterrupt));
        } else if (vector == Perturbation.VECTOR) {
            pushFrame(Frame.Kind.INTERRUPT, new Action.Op(GuestCpu::runPerturbation));
        } else if (vector == ApfMsr.LOCAL_TIMER_VECTOR) {
            pushFrame(Frame.Kind.INTERRUPT, new Action.Compute(kernel.config.timerHandlerNs()),
                    new Action.Op(GuestCpu::timerInterrupt));
        } else if (vector == Perturbation.DEVICE_VECTOR) {
            pushFrame(Frame.Kind.INTERRUPT, new Action.Compute(kernel.config.irqHandlerNs()),
                    new Action.Op((c, t) -> c.lapic.eoi()));
        } else {
            pushFrame(Frame.Kind.INTERRUPT, new Action.Op((c, t) -> c.lapic.eoi()));
        }
    }

    private int apfVectorInUse = -1;

    private long lastMsrValue;
    private boolean lastMsrGp;

    @Override
    public void msrResult(boolean gp, long value) {
        lastMsrGp = gp;
        lastMsrValue = value;
    }

    @Override
    public void reset(long now) {
        // INIT: the CPU restarts; the guest kernel must enable async PF again (per-CPU state is lost)
        frames.clear();
        if (arm != null) {
            arm.window = Arm64CpuState.Window.NONE;
        }
        apfEnabled = false;
        booted = false;
        segStart = segEnd = -1;
        segCtx = null;
        if (current != null) {
            current.advance();
        }
        cpu.paging = true;
        cpu.interruptFlag = true;
        cpu.cpl = current == null ? 0 : (current.kernelMode ? 0 : 3);
    }

    // ---- kernel internals ---------------------------------------------------------------------------

    /** Enters a handler in L1 (an event that arrives while L2 runs exits to L1 first). */
    private Frame pushFrame(Frame.Kind kind, Action... steps) {
        Frame f = new Frame(kind, cpu.interruptFlag, cpu.cpl, cpu.guestMode, steps);
        if (arm != null && (kind == Frame.Kind.PAGE_FAULT || kind == Frame.Kind.INTERRUPT)) {
            // vectors: +0x200 sync / +0x280 IRQ from EL1h, +0x400 / +0x480 from 64-bit EL0
            addExceptionWindows(f, (cpu.cpl == 0 ? 0x200 : 0x400) + (kind == Frame.Kind.INTERRUPT ? 0x80 : 0));
        }
        frames.push(f);
        cpu.interruptFlag = false; // interrupt gates clear IF
        cpu.cpl = 0;
        cpu.guestMode = false;
        return f;
    }

    private void iret(long now) {
        Frame f = frames.pop();
        if (arm != null) {
            arm.window = Arm64CpuState.Window.NONE; // ERET
        }
        cpu.interruptFlag = f.savedIf;
        cpu.cpl = f.savedCpl;
        cpu.guestMode = f.savedL2;
        if (frames.isEmpty() && current != null && needResched) {
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
        Frame sched = new Frame(Frame.Kind.SCHED, next.interruptFlag, cpu.cpl, next.inL2,
                new Action.Compute(kernel.config.contextSwitchNs()));
        if (arm != null && cpu.cpl == 3) {
            addExitWindow(sched); // arm64: the switched-in task returns to EL0 through ret_to_user / kernel_exit
        }
        frames.push(sched);
        cpu.interruptFlag = false;
        cpu.cpl = 0;
        cpu.guestMode = false;
        armTick(now);
    }

    /** The current task blocks; the frames above it (the #PF handler) are unwound into its saved state. */
    private void sleep(Task t, Task.State why, long now) {
        if (!frames.isEmpty()) {
            Frame bottom = frames.peekLast();
            cpu.interruptFlag = bottom.savedIf;
            cpu.cpl = bottom.savedCpl;
            cpu.guestMode = bottom.savedL2;
            frames.clear();
        }
        if (arm != null) {
            arm.window = Arm64CpuState.Window.NONE;
        }
        saveTask(t);
        t.state = why;
        t.sleepStart = now;
        current = null;
        kernel.tracer.emit(new TraceEvent.GuestSwitch(now, id, t.id, -1));
    }

    /** Per-CPU enable at boot ({@code kvm_guest_cpu_init}): INT first, then EN, then async_pf_enabled. */
    private void boot() {
        booted = true;
        Action[] enable = enableActions();
        if (enable.length > 0) {
            pushFrame(Frame.Kind.BOOT, enable);
        }
    }

    /** The MSR writes of {@code kvm_guest_cpu_init} for this guest kind (none if it never enables). */
    private Action[] enableActions() {
        GuestConfig g = kernel.config;
        if (arm != null) {
            return switch (g.apf()) {
                case NEVER -> new Action[0];
                case LINUX, LINUX_LEGACY -> arm64EnableActions(Arm64AsyncPf.KVM_ASYNC_PF_ENABLED);
                case CUSTOM -> arm64EnableActions(g.enBits() & (Arm64AsyncPf.KVM_ASYNC_PF_ENABLED
                        | Arm64AsyncPf.KVM_ASYNC_PF_SEND_ALWAYS));
            };
        }
        long vmexit = platform.offersPfVmexit() ? ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT : 0;
        return switch (g.apf()) {
            case NEVER -> new Action[0];
            case LINUX_LEGACY -> new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, areaGpa
                    | ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_SEND_ALWAYS | vmexit)};
            case LINUX -> new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_INT, g.apfVector()),
                    new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, areaGpa | ApfMsr.KVM_ASYNC_PF_ENABLED
                            | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT | vmexit)};
            case CUSTOM -> new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_INT, g.apfVector()),
                    new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, areaGpa | g.enBits())};
        };
    }

    /** {@code kvm_guest_cpu_offline}: APF off, then wake every sleeper of this CPU. */
    private Action[] offlineActions() {
        Action disable = arm != null ? new Action.Hvc(Arm64AsyncPf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID,
                Arm64AsyncPf.APF_OP_ENABLE) : new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, 0);
        return new Action[]{disable,
                new Action.Op((c, t) -> c.asyncPfTaskWake(t, 0xffffffffL))};
    }

    // ---- injected perturbations (apfsim check) ---------------------------------------------------------

    private final ArrayDeque<Perturbation> perturbations = new ArrayDeque<>();

    /** Queues a perturbation; its IPI (vector 0xf1) makes this CPU run it. */
    public void queuePerturbation(Perturbation p) {
        perturbations.addLast(p);
    }

    private void runPerturbation(long now) {
        lapic.eoi();
        Perturbation p = perturbations.pollFirst();
        if (p == null) {
            return;
        }
        Frame f = frames.peekFirst();
        Action wait = new Action.Compute(Math.max(1, p.durationNs()));
        java.util.List<Action> steps = new java.util.ArrayList<>();
        switch (p.kind()) {
            case IRQ_OFF -> steps.add(wait);
            case LAPIC_OFF -> {
                steps.add(new Action.SetLapicEnabled(false));
                steps.add(wait);
                steps.add(new Action.SetLapicEnabled(true));
            }
            case PG_TOGGLE -> {
                steps.add(new Action.SetPaging(false));
                steps.add(wait);
                steps.add(new Action.SetPaging(true));
            }
            case MSR_REENABLE -> {
                if (apfEnabled) {
                    steps.addAll(java.util.List.of(offlineActions()));
                    steps.add(wait);
                    steps.addAll(java.util.List.of(enableActions()));
                }
            }
            case RESET -> {
                if (apfEnabled) {
                    steps.addAll(java.util.List.of(offlineActions()));
                }
                steps.add(Action.INIT);
            }
            case REGULAR_PF -> steps.add(new Action.RegularFault(0x1000L * (1 + id)));
            case NESTED -> {
                long orig = cpu.cr3; // L2 runs on its own page tables
                steps.add(new Action.SetCr3(orig ^ 0x200000));
                steps.add(new Action.SetGuestMode(true));
                steps.add(wait);
                steps.add(new Action.SetGuestMode(false));
                steps.add(new Action.SetCr3(orig));
            }
            case MIGRATE, IRQ_STORM -> {
                // VMM/host actions: Machine handles them and never queues them here
            }
            case CR3_SWITCH -> {
                long orig = cpu.cr3;
                steps.add(new Action.SetCr3(orig ^ 0x100000));
                steps.add(wait);
                steps.add(new Action.SetCr3(orig));
            }
        }
        for (int i = steps.size() - 1; i >= 0; i--) {
            f.then(steps.get(i));
        }
    }

    /** The guest's view of its own APF MSR writes (which area it registered, whether it enabled). */
    private void noteApfMsrWrite(Action.WrMsr w) {
        if (w.msr() == ApfMsr.MSR_KVM_ASYNC_PF_EN) {
            apfEnabled = (w.value() & ApfMsr.KVM_ASYNC_PF_ENABLED) != 0;
            areaGpa = w.value() & ~0x3fL;
        } else if (w.msr() == ApfMsr.MSR_KVM_ASYNC_PF_INT) {
            apfVectorInUse = (int) (w.value() & 0xff);
        }
    }

    /** {@code kvm_read_and_reset_apf_flags}: 0 when async PF is off on this CPU. */
    private int readAndResetApfFlags() {
        if (!apfEnabled) {
            return 0;
        }
        int flags = kernel.ram.read32(areaGpa + ApfMsr.OFFSET_FLAGS);
        kernel.ram.write32(areaGpa + ApfMsr.OFFSET_FLAGS, 0);
        return flags;
    }

    /**
     * {@code exc_page_fault} → {@code kvm_handle_async_pf} → {@code __kvm_handle_async_pf} (≤5.7:
     * {@code do_async_page_fault}, which also took reason 2 = page ready). {@code asyncToken} is the checker's
     * ground truth from the host, -1 for a regular fault.
     */
    private void excPageFault(long now, long cr2, long asyncToken) {
        Frame f = frames.peekFirst();
        int flags = readAndResetApfFlags();
        if ((flags == 0) != (asyncToken < 0)) {
            kernel.monitor.violation(now, id, Invariant.REASON_CONFUSION, asyncToken >= 0
                    ? "async #PF token " + FtraceFormat.hex(asyncToken) + " taken as a regular fault (flags 0)"
                    : "regular #PF at " + FtraceFormat.hex(cr2) + " taken as async (stale flags " + flags + ")");
        }
        if (flags == 0) {
            regularPageFault(now, cr2, asyncToken >= 0);
            return;
        }
        if (flags == ApfMsr.KVM_PV_REASON_PAGE_READY && kernel.config.apf() == GuestConfig.ApfMode.LINUX_LEGACY) {
            asyncPfTaskWake(now, cr2); // ≤5.7: page ready by #PF, no ACK
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
        if (kernel.config.pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT || current == null) {
            return;
        }
        asyncPfTaskWaitSchedule(now, cr2);
    }

    /**
     * A #PF the guest believes is its own: it fixes its page table and returns. When the fault was really an
     * async one ({@code bogus}), CR2 holds a token, not an address: a user task faulting there gets SIGSEGV.
     */
    private void regularPageFault(long now, long cr2, boolean bogus) {
        kernel.metrics.counters.inc(Counter.GUEST_PF_REGULAR);
        Task t = current;
        kernel.tracer.emit(new TraceEvent.GuestPageFault(now, id, t == null ? -1 : t.id, cr2));
        if (bogus && t != null && frames.size() == 1 && frames.peekFirst().savedCpl != 0) {
            kill(t, now, "SIGSEGV", cr2);
        }
    }

    void kill(Task t, long now, String signal, long address) {
        frames.clear();
        if (arm != null) {
            arm.window = Arm64CpuState.Window.NONE;
        }
        t.state = Task.State.KILLED;
        t.killedAt = now;
        current = null;
        cpu.cpl = 0;
        cpu.interruptFlag = true;
        kernel.metrics.counters.inc(Counter.TASKS_KILLED);
        kernel.tracer.emit(new TraceEvent.GuestTaskKilled(now, id, t.id, signal, address));
        kernel.observer.taskKilled(now, t, signal);
    }

    /** {@code kvm_async_pf_task_wait_schedule}: consume a dummy, or sleep until the token is woken. */
    private void asyncPfTaskWaitSchedule(long now, long token) {
        SleeperTable.Node dummy = kernel.sleepers.find(token);
        Task t = current;
        if (dummy != null) {
            kernel.sleepers.remove(dummy); // the wake came first
            kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, t.id, token, true));
            return;
        }
        kernel.sleepers.add(new SleeperTable.Node(token, id, t));
        t.apfWaits++;
        t.sleepToken = token;
        kernel.tracer.emit(new TraceEvent.GuestApfWait(now, id, t.id, token, false));
        sleep(t, Task.State.APF_SLEEP, now);
    }

    /** {@code sysvec_kvm_asyncpf_interrupt}: EOI, wake, clear the token slot, then ACK. */
    private void asyncPfInterrupt(long now) {
        lapic.eoi();
        kernel.metrics.counters.inc(Counter.GUEST_APF_IRQS);
        if (!apfEnabled) {
            return;
        }
        long token = Integer.toUnsignedLong(kernel.ram.read32(areaGpa + ApfMsr.OFFSET_TOKEN));
        boolean error = kernel.ram.read32(areaGpa + ApfMsr.OFFSET_PAGEREADY_FLAGS) != 0;
        if (error) {
            kernel.ram.write32(areaGpa + ApfMsr.OFFSET_PAGEREADY_FLAGS, 0);
            SleeperTable.Node n = kernel.sleepers.find(token);
            if (n != null && !n.dummy()) {
                n.task().pendingSigbus = true;
            }
        }
        asyncPfTaskWake(now, token);
        kernel.ram.write32(areaGpa + ApfMsr.OFFSET_TOKEN, 0);
        frames.peekFirst().then(arm != null
                ? new Action.Hvc(Arm64AsyncPf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, Arm64AsyncPf.APF_OP_IRQ_ACK | 1)
                : new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_ACK, 1));
    }

    /** {@code kvm_async_pf_task_wake}. */
    private void asyncPfTaskWake(long now, long token) {
        if (token == 0xffffffffL) {
            int woken = 0;
            for (SleeperTable.Node n : kernel.sleepers.removeAllOfCpu(id)) {
                if (!n.dummy()) {
                    wakeApfSleeper(n.task(), now);
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
            wakeApfSleeper(n.task(), now);
        } else if (n == null) {
            kernel.metrics.counters.inc(Counter.GUEST_DUMMY_NODES);
            kernel.sleepers.add(new SleeperTable.Node(token, id, null));
            kernel.tracer.emit(new TraceEvent.GuestApfWake(now, id, -1, token));
        }
    }

    private void wakeApfSleeper(Task t, long now) {
        kernel.metrics.taskWait.record(now - t.sleepStart);
        kernel.wake(t, now, id);
    }

    private void timerInterrupt(long now) {
        lapic.eoi();
        if (current != null && !runqueue.isEmpty() && now - current.sliceStart >= kernel.config.timesliceNs()) {
            needResched = true;
        }
    }

    // ---- timer and sleeps ---------------------------------------------------------------------------

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
