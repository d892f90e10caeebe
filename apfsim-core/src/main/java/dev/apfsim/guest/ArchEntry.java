package dev.apfsim.guest;

import dev.apfsim.arch.CpuState;
import dev.apfsim.arch.GuestCode;
import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.InterruptController;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/**
 * One guest CPU's architecture entry code: what Linux keeps under {@code arch/*}. It is the object the host's
 * vCPU holds (each subclass implements its architecture's {@code GuestCode}); it registers async PF with the host
 * (x86 MSRs, arm64 SMCCC calls, s390 DIAG 0x258), executes the instructions only its architecture has, and turns
 * the host's injections into handler frames on the generic {@link GuestCpu}. Everything it needs from the generic
 * kernel (frames, the current task, the sleeper table, panics) is one of the protected helpers below, so the
 * generic kernel never names an architecture.
 */
public abstract class ArchEntry implements GuestCode {
    /** The token that wakes every sleeper of a CPU ({@code apf_task_wake_all}). */
    protected static final long WAKE_ALL = 0xffffffffL;

    protected final GuestCpu cpu;

    protected ArchEntry(GuestCpu cpu) {
        this.cpu = cpu;
    }

    // ---- the hooks the generic kernel calls ----------------------------------------------------------------

    /** {@code async_pf_enabled} on this CPU, as the guest believes from its own calls. */
    public abstract boolean apfEnabled();

    /** GPA of this CPU's async PF area (x86 {@code apf_reason}, arm64 control block, s390 lowcore token word). */
    public abstract long areaGpa();

    /** The calls of {@code kvm_guest_cpu_init} (none if the guest never enables): INT first, then EN. */
    protected abstract Action[] enableActions();

    /** {@code kvm_pv_disable_apf}: the call that turns async PF off on this CPU. */
    protected abstract Action[] disableActions();

    /** INIT: the per-CPU registration is lost; the kernel must enable again. */
    protected abstract void resetRegistration();

    /** {@code vector} is this CPU's page-ready notification. */
    protected abstract boolean isPageReadyVector(int vector);

    /** The page-ready vector arrived: enter its handler. */
    protected abstract void deliverPageReady();

    /** An instruction only this architecture has (x86 WRMSR/RDMSR, arm64 HVC, s390 DIAGNOSE): its exit. */
    protected abstract GuestExit execute(long now, Action a);

    /** A #PF of the guest's own page tables (no VM exit): the architecture's fault entry. */
    protected abstract void nativePageFault(long now, long address);

    /** A page-table root load the host intercepts (x86 CR3 under shadow paging). */
    protected boolean interceptsPgdWrite() {
        return false;
    }

    /** The windows of the entry code an injected exception must not hit (arm64), or null. */
    protected EntryWindows windows() {
        return null;
    }

    /** Arch work of a context switch to {@code next} (s390: the pid stored in the lowcore). */
    protected void switchedTo(Task next) {
    }

    /** What {@code kvm_guest_cpu_offline} does after disabling: wake every sleeper of this CPU. */
    protected void wakeAllOffline(long now) {
        taskWake(now, WAKE_ALL);
    }

    /**
     * {@code kvm_cpu_down_prepare} → {@code kvm_guest_cpu_offline(false)}, run with IRQs off: by default the
     * async PF part ({@link #offlineActions}); x86 writes its other PV MSRs around it.
     */
    protected Action[] downPrepareActions() {
        return offlineActions();
    }

    /** {@code kvm_cpu_online} → {@code kvm_guest_cpu_init}, run with IRQs off. */
    protected Action[] onlineActions() {
        return enableActions();
    }

    /** {@code kvm_guest_cpu_offline}: async PF off, then wake every sleeper of this CPU. */
    final Action[] offlineActions() {
        Action[] off = disableActions();
        Action[] out = java.util.Arrays.copyOf(off, off.length + 1);
        out[off.length] = new Action.Op((c, t) -> wakeAllOffline(t));
        return out;
    }

    // ---- GuestCode: the generic CPU runs --------------------------------------------------------------------

    @Override
    public final GuestExit run(long now, long horizon) {
        return cpu.run(now, horizon);
    }

    @Override
    public final void preempt(long now) {
        cpu.preempt(now);
    }

    @Override
    public final long computeEnd() {
        return cpu.computeEnd();
    }

    @Override
    public final void exitAtBoundary(int k) {
        cpu.exitAtBoundary(k);
    }

    @Override
    public final void deliverInterrupt(long now, int vector) {
        cpu.deliverInterrupt(now, vector);
    }

    @Override
    public final void reset(long now) {
        cpu.reset(now);
    }

    // ---- what the entry code may use of the generic kernel ---------------------------------------------------

    protected final int id() {
        return cpu.id;
    }

    protected final GuestConfig config() {
        return cpu.kernel.config;
    }

    /** The #PF (data abort, program interrupt) handler's cost as a step, made once for the kernel. */
    protected final Action.Compute pfHandlerStep() {
        return cpu.kernel.pfHandlerStep;
    }

    /** An interrupt handler's cost as a step, made once for the kernel. */
    protected final Action.Compute irqHandlerStep() {
        return cpu.kernel.irqHandlerStep;
    }

    protected final GuestRam ram() {
        return cpu.kernel.ram;
    }

    protected final CpuState state() {
        return cpu.platform.state();
    }

    protected final GuestCpu.Platform platform() {
        return cpu.platform;
    }

    protected final InterruptController interruptController() {
        return cpu.platform.interruptController();
    }

    protected final long now() {
        return cpu.kernel.sim.now();
    }

    protected final void count(Counter c) {
        cpu.kernel.metrics.counters.inc(c);
    }

    protected final void emit(TraceEvent e) {
        cpu.kernel.tracer.emit(e);
    }

    protected final boolean probing() {
        return cpu.kernel.tracer.probing();
    }

    protected final void probe(Probe p) {
        cpu.kernel.tracer.probe(p);
    }

    /** A fault handler is entered: names it for the checker's probes. */
    protected final long faultEntered(long now) {
        return cpu.kernel.faultEntered(now, cpu.id);
    }

    /** The handler of {@code fault} read its async PF reason {@code flags}. */
    protected final void faultClassified(long now, long fault, Probe.Site site, int flags, long address) {
        cpu.kernel.faultClassified(now, cpu.id, fault, site, flags, address);
    }

    /** Enters a handler in L1 (interrupt gates clear IF). */
    protected final Frame enter(Frame.Kind kind, Action... steps) {
        return cpu.frames.enter(kind, steps);
    }

    /** Enters a handler inside L2 (an exception injected straight into L2: no exit to L1). */
    protected final void enterInL2(Action... steps) {
        CpuState s = state();
        cpu.frames.enterInL2(new Frame(Frame.Kind.PAGE_FAULT, s.interruptFlag, s.cpl, true, steps));
    }

    /** The innermost handler, or null when the task runs. */
    protected final Frame topFrame() {
        return cpu.frames.top();
    }

    /** An NMI handler is running on this CPU ({@code in_nmi()}). */
    protected final boolean inNmi() {
        return cpu.frames.contains(Frame.Kind.NMI);
    }

    protected final int frameDepth() {
        return cpu.frames.depth();
    }

    protected final Task currentTask() {
        return cpu.scheduler.current();
    }

    protected final void panic(long now, String message) {
        cpu.kernel.panic(now, cpu.id, message);
    }

    protected final void kill(Task t, long now, String signal, long address) {
        cpu.scheduler.kill(t, now, signal, address);
    }

    /** {@code find_task_by_pid_ns}. */
    protected final Task taskByPid(long pid) {
        return cpu.kernel.taskByPid(pid);
    }

    /** A #PF the guest believes is its own ({@code do_user_addr_fault}). */
    protected final void regularPageFault(long now, long address) {
        cpu.asyncPf.regularPageFault(now, address);
    }

    /** {@code kvm_async_pf_task_wait_schedule}. */
    protected final void taskWaitSchedule(long now, long token) {
        cpu.asyncPf.taskWaitSchedule(now, token);
    }

    /** {@code kvm_async_pf_task_wake} ({@link #WAKE_ALL}: {@code apf_task_wake_all}). */
    protected final void taskWake(long now, long token) {
        cpu.asyncPf.taskWake(now, token);
    }

    /** The page-ready for {@code token} said the page could not be brought in (seed 004 patch 2): SIGBUS. */
    protected final void markSigbus(long token) {
        cpu.asyncPf.markSigbus(token);
    }

    /** The current task {@code t} sleeps on {@code token} until an async PF wake. */
    protected final void sleepOnToken(Task t, long token, long now) {
        cpu.asyncPf.sleepOnToken(t, token, now);
    }

    /** Wakes {@code t} from an async PF sleep. */
    protected final void wakeFromApf(Task t, long now) {
        cpu.asyncPf.wakeSleeper(t, now);
    }
}
