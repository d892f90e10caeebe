package dev.apfsim.kvm.x86;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;
import dev.apfsim.check.Invariant;
import dev.apfsim.check.Monitor;
import dev.apfsim.kvm.ArchAsyncPf;
import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.metrics.VcpuTime;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;

/**
 * One vCPU thread of an x86 VM: {@code vcpu_run} / {@code vcpu_enter_guest} / {@code vcpu_block} as events.
 * The guest runs inline until it exits or the next event is due; everything the host does costs time.
 *
 * <p>The run loop is also the arm64 model's ({@code host.arch: arm64}): another architecture's async PF rules
 * replace {@link X86AsyncPf} through {@link #setArch}, and the loop asks them where the two differ
 * ({@link ArchAsyncPf}).
 */
public final class X86Vcpu implements EventHandler {
    static final int REQ_APF_HALT = 1;  // KVM_REQ_APF_HALT
    static final int REQ_APF_READY = 2; // KVM_REQ_APF_READY

    private static final int EV_ENTER = 0;
    private static final int EV_RESUME = 1;
    private static final int EV_EXIT = 2;

    /** Where the vCPU thread is. */
    public enum RunState { IN_GUEST, IN_HOST, BLOCKED, SYNC_WAIT, STOPPED }

    public final int id;
    final Simulator sim;
    final KvmConfig config;
    final Metrics metrics;
    private final Tracer tracer;
    public final X86CpuState cpu;
    public final Lapic lapic = new Lapic();
    public final X86Apf apf = new X86Apf();
    final AsyncPf asyncPf;
    final X86AsyncPf x86;
    /** The async PF rules in force: {@link #x86}, or another architecture's (see {@link #setArch}). */
    ArchAsyncPf rules;
    final X86Mmu mmu;
    private final ApfMsrHandler msrs;
    private final HostMemory memory;
    private final GuestRam ram;
    private final VmObserver observer;
    private final VcpuTime time;
    ErrorPolicyHook errorPolicy = ErrorPolicyHook.IGNORE;
    Monitor monitor;
    /** HLT exits in a row that returned without blocking or injecting anything (the 100% CPU loop). */
    private long hltSpins;
    private boolean busyLoopReported;
    private GuestCode guest;

    private int requests;
    private boolean mpHalted; // mp_state == KVM_MP_STATE_HALTED
    private RunState state = RunState.IN_HOST;
    private long gen;
    private GuestExit pendingExit;
    /** A queued #PF (async "page not present"): token to deliver as CR2, or -1. */
    private long pendingPfToken = -1;
    /** The queued #PF is an async #PF taken in L2, to be delivered as a nested VM-exit to L1. */
    private boolean pendingPfNested;
    /** Token of the last async #PF delivered, until the guest classifies it (for the reason-confusion check). */
    private long injectedAsyncToken = -1;

    /** The checker's ground truth: was the #PF the guest is handling an async one? Consumes the note. */
    public long takeInjectedAsyncToken() {
        long t = injectedAsyncToken;
        injectedAsyncToken = -1;
        return t;
    }

    public X86Vcpu(int id, Simulator sim, KvmConfig config, Metrics metrics, Tracer tracer, HostMemory memory,
                   GuestRam ram, X86CpuState cpu, VmObserver observer) {
        this.id = id;
        this.sim = sim;
        this.config = config;
        this.metrics = metrics;
        this.tracer = tracer;
        this.memory = memory;
        this.ram = ram;
        this.cpu = cpu;
        this.observer = observer;
        this.time = metrics.vcpuTime[id];
        this.asyncPf = new AsyncPf(id, sim, memory, tracer, metrics, config.costs().workerDispatchNs());
        this.x86 = new X86AsyncPf(this, asyncPf, ram, memory);
        this.asyncPf.setArch(x86);
        this.rules = x86;
        this.mmu = new X86Mmu(this, memory);
        this.msrs = new ApfMsrHandler(this, asyncPf, ram);
        this.errorPolicy = ErrorPolicies.create(config.policy().errorPolicy());
        this.monitor = new Monitor(sim, tracer);
        this.apf.legacy = config.policy().pageReadyDelivery() == X86Policy.PageReadyDelivery.PF_LEGACY;
        this.apf.id = config.apfIdStart();
        this.cpu.tdp = config.tdp();
    }

    public void attachGuest(GuestCode guest) {
        this.guest = guest;
    }

    /** Replaces the x86 async PF rules with another architecture's (before {@link #start}). */
    public void setArch(ArchAsyncPf r) {
        this.rules = r;
        asyncPf.setArch(r);
    }

    public ArchAsyncPf rules() {
        return rules;
    }

    // ---- what another architecture's rules (kvm.arm64) use of the vCPU -----------------------------------

    public Simulator simulator() {
        return sim;
    }

    public KvmConfig config() {
        return config;
    }

    public Metrics metrics() {
        return metrics;
    }

    public GuestCode guest() {
        return guest;
    }

    /**
     * Queues an arch notification with {@code token} for the next VM entry, where
     * {@link ArchAsyncPf#deliverPendingEvent} delivers it (arm64: {@code kvm_inject_dabt}, or an SDEI event).
     */
    public void queueArchEvent(int token) {
        pendingPfToken = Integer.toUnsignedLong(token);
        pendingPfNested = false;
    }

    /** {@code kvm_arch_async_page_ready}'s prefault, through the shared stage-2 / EPT model. */
    public void prefault(KvmAsyncPf work) {
        mmu.asyncPageReady(work);
    }

    public void setFaultListener(X86Mmu.FaultListener l) {
        mmu.listener = l;
    }

    public void setMonitor(Monitor m) {
        this.monitor = m;
    }

    public Monitor monitor() {
        return monitor;
    }

    public void setErrorPolicy(ErrorPolicyHook hook) {
        this.errorPolicy = hook;
    }

    public AsyncPf asyncPf() {
        return asyncPf;
    }

    public X86AsyncPf x86() {
        return x86;
    }

    public RunState runState() {
        return state;
    }

    /** Starts the vCPU thread at time 0. */
    public void start() {
        time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
        vcpuState(sim.now(), "host");
        sim.at(sim.now(), this, EV_ENTER, 0);
    }

    public void trace(TraceEvent e) {
        tracer.emit(e);
    }

    void makeRequest(int req) {
        requests |= req;
    }

    private boolean checkRequest(int req) {
        boolean set = (requests & req) != 0;
        requests &= ~req;
        return set;
    }

    public boolean hasPendingException() {
        return pendingPfToken >= 0;
    }

    public void mpStateRunnable() {
        mpHalted = false;
    }

    /** {@code kvm_vcpu_running}. */
    private boolean running() {
        return !mpHalted && !apf.halted;
    }

    /** {@code kvm_vcpu_has_events}, the parts the model has. */
    private boolean hasEvents() {
        return !asyncPf.doneEmpty() || hasPendingException() || (cpu.interruptAllowed() && lapic.hasInterrupt())
                || rules.runnable();
    }

    /** {@code kvm_arch_vcpu_runnable}. */
    public boolean runnable() {
        return running() || hasEvents();
    }

    /**
     * {@code kvm_inject_page_fault} of an async #PF: a pending #PF with the token as payload (CR2); taken while
     * L2 runs, a pending nested VM-exit to L1 instead ("Async #PF in L2 is always forwarded to L1 as a VM-Exit").
     */
    void injectAsyncPageFault(int token) {
        pendingPfToken = Integer.toUnsignedLong(token);
        pendingPfNested = cpu.guestMode && config.policy().nestedAsyncPf() == X86Policy.NestedAsyncPf.VMEXIT;
    }

    /**
     * Live migration of this vCPU (seed 000; {@code kvm_vcpu_ioctl_x86_get_vcpu_events}): KVM_RUN returns, the VMM saves the MSRs and the
     * vCPU events, and a destination vCPU is set up from them. Host-only async PF state (queue, done list, gfn
     * hash, apf.halted, pageready_pending, apf.id) does not travel; the destination's enabling write queues a
     * wake-all. A pending nested async #PF comes back as the saving policy allows.
     */
    public void migrate() {
        if (state == RunState.STOPPED) {
            return;
        }
        long token = pendingPfToken;
        String restoredAs = "none";
        if (token >= 0) {
            if (pendingPfNested && config.policy().nestedPendingSave() == X86Policy.NestedPendingSave.AS_PF) {
                // kvm_get_exception_to_save reports exception_vmexit as a plain #PF; on restore it becomes a
                // VM-exit only if L1 intercepts #PF, which an L1 using EPT does not
                pendingPfNested = false;
            }
            restoredAs = pendingPfNested ? "nested-vmexit" : (cpu.guestMode ? "pf-into-l2" : "pf");
        }
        trace(new TraceEvent.Migrated(sim.now(), id, token, restoredAs));
        asyncPf.clearCompletionQueue("migration");
        apf.gfns.reset();
        apf.halted = false;
        apf.pageReadyPending = false;
        apf.id = 0;
        long en = apf.msrEnVal;
        long intVal = apf.msrIntVal;
        apf.msrEnVal = 0;
        apf.msrIntVal = 0;
        if (intVal != 0 || en != 0) {
            msrs.write(ApfMsr.MSR_KVM_ASYNC_PF_INT, intVal); // QEMU's kvm_put_msrs writes INT before EN
            msrs.write(ApfMsr.MSR_KVM_ASYNC_PF_EN, en);
        }
        rules.migrated();
        kick();
    }

    /**
     * True if a page-ready for {@code token} has left the host but not reached the guest's handler yet: in the
     * token slot (interrupt delivery) or as a queued #PF (legacy delivery).
     */
    public boolean pageReadyInFlight(long token) {
        if (pendingPfToken == token) {
            return true;
        }
        long gpa = apf.dataGpa + ApfMsr.OFFSET_TOKEN;
        return apf.dataGpa >= 0 && ram.valid(gpa) && Integer.toUnsignedLong(ram.read32(gpa)) == token;
    }

    void cancelPendingException() {
        pendingPfToken = -1;
        pendingPfNested = false;
    }

    /** {@code kvm_apic_set_irq}, fixed mode, to this vCPU. */
    public void apicSetIrq(int vector) {
        if (lapic.acceptFixed(vector)) {
            trace(new TraceEvent.ApicAcceptIrq(sim.now(), id, id, vector));
            kick();
        } else if (vector == apf.vec && apf.pageReadyPending) {
            monitor.violation(id, Invariant.PAGE_READY_DROPPED, "page-ready vector " + vector
                    + " dropped by a software-disabled LAPIC; token slot stays busy");
        }
    }

    /** {@code kvm_vcpu_kick}: wake a blocked thread, or force an exit from the guest. */
    public void kick() {
        switch (state) {
            case IN_GUEST -> {
                guest.preempt(sim.now());
                gen++;
                exitStarted();
                scheduleEnter(config.costs().vmExitNs());
            }
            case BLOCKED -> wakeUp();
            default -> {
            }
        }
    }

    /** {@code kvm_vcpu_wake_up}: a blocked thread re-checks whether it can run. */
    public void wakeUp() {
        if (state == RunState.BLOCKED && runnable()) {
            time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
            vcpuState(sim.now(), "host");
            scheduleEnter(config.costs().haltWakeupNs());
        }
    }

    /** Timeline event (apfsim_vcpu_state): guest, host, hlt, apf_halt, sync, stopped. */
    private void vcpuState(long at, String what) {
        if (tracer.timelineWanted()) {
            trace(new TraceEvent.VcpuState(at, id, what));
        }
    }

    private void exitStarted() {
        metrics.counters.inc(Counter.VM_EXITS);
        time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
        vcpuState(sim.now(), "host");
        state = RunState.IN_HOST;
    }

    private void scheduleEnter(long delay) {
        state = RunState.IN_HOST;
        sim.after(delay, this, EV_ENTER, gen);
    }

    @Override
    public void onEvent(int code, long arg) {
        if (state == RunState.STOPPED) {
            return;
        }
        switch (code) {
            case EV_ENTER -> runLoop();
            case EV_RESUME -> {
                if (arg == gen && state == RunState.IN_GUEST) {
                    runGuest(sim.now());
                }
            }
            case EV_EXIT -> {
                if (arg == gen) {
                    handleExit(pendingExit);
                }
            }
            default -> throw new IllegalStateException("unknown vCPU event " + code);
        }
    }

    /** One pass of {@code vcpu_run}'s loop, until the guest is entered or the thread blocks. */
    private void runLoop() {
        while (state != RunState.STOPPED) {
            if (running()) {
                // vcpu_enter_guest: requests first
                if (checkRequest(REQ_APF_HALT)) {
                    apf.halted = true;
                    metrics.counters.inc(Counter.SYNTHETIC_HALTS);
                    trace(new TraceEvent.ApfHalt(sim.now(), id, -1));
                    continue;
                }
                if (checkRequest(REQ_APF_READY) || apf.legacy || rules.checkCompletionOnEntry()) {
                    asyncPf.checkCompletion(); // ≤5.7 vcpu_run (and arm64 RFCv2) checked on every iteration
                }
                Integer forced = errorPolicy.forcedExit();
                if (forced != null) {
                    vmStop("efault-request", forced, -1); // KVM_RUN fails with -EFAULT
                    return;
                }
                long entry = sim.now() + config.costs().vmEntryNs();
                injectPendingEvent(entry);
                time.finish(entry);
                vcpuState(entry, "guest");
                runGuest(entry);
                return;
            }
            // vcpu_block
            if (!runnable()) {
                hltSpins = 0;
                state = RunState.BLOCKED;
                time.hostState(apf.halted ? TimeCategory.SYNTHETIC_HALT : TimeCategory.GUEST_IDLE, sim.now());
                vcpuState(sim.now(), apf.halted ? "apf_halt" : "hlt");
                return;
            }
            mpHalted = false;
            apf.halted = false;
        }
    }

    /** {@code kvm_check_and_inject_events}: one exception, else one interrupt if the guest takes it. */
    private void injectPendingEvent(long at) {
        if (pendingPfToken >= 0) {
            long token = pendingPfToken;
            pendingPfToken = -1;
            hltSpins = 0;
            injectedAsyncToken = token;
            if (rules.deliverPendingEvent(at, token)) {
                return; // another architecture's notification (arm64: data abort or SDEI event)
            }
            if (pendingPfNested) {
                pendingPfNested = false;
                // nested_vmx_inject_exception_vmexit: #PF, hard exception, error code valid (protected-mode L2)
                int intrInfo = cpu.paging ? 0x80000b0e : 0x8000030e;
                trace(new TraceEvent.NestedVmexitInject(sim.now(), id, "EXCEPTION_NMI", token, 0, intrInfo, 0));
                guest.deliverNestedPfExit(at, token);
            } else {
                trace(new TraceEvent.InjException(sim.now(), id, ApfMsr.PF_VECTOR, true, 0));
                guest.deliverException(at, ApfMsr.PF_VECTOR, 0, token);
            }
        } else if (cpu.interruptAllowed() && lapic.hasInterrupt()) {
            hltSpins = 0;
            guest.deliverInterrupt(at, lapic.acknowledge());
        }
    }

    private void runGuest(long from) {
        state = RunState.IN_GUEST;
        GuestExit exit = guest.run(from, sim.horizon());
        if (exit instanceof GuestExit.Continue c) {
            sim.at(c.at(), this, EV_RESUME, gen);
            return;
        }
        gen++;
        state = RunState.IN_HOST; // exiting: kicks only leave requests now
        if (exit.at() == sim.now()) {
            handleExit(exit);
        } else {
            pendingExit = exit;
            sim.at(exit.at(), this, EV_EXIT, gen);
        }
    }

    private void handleExit(GuestExit exit) {
        pendingExit = null;
        exitStarted();
        HostCosts c = config.costs();
        switch (exit) {
            case GuestExit.EptViolation e -> handleEptViolation(e);
            case GuestExit.Hlt h -> {
                metrics.counters.inc(Counter.HLT_EXITS);
                if (++hltSpins == 100_000 && !busyLoopReported) {
                    busyLoopReported = true;
                    monitor.violation(id, Invariant.HLT_BUSY_LOOP, hltSpins + " HLT exits returned at once ("
                            + asyncPf.doneSize() + " completions on the done list that cannot be dequeued)");
                }
                mpHalted = true; // kvm_emulate_halt
                scheduleEnter(c.vmExitNs());
            }
            case GuestExit.WrMsr m -> {
                ApfMsrHandler.Result r = msrs.write(m.msr(), m.value());
                boolean gp = r == null || r.gp();
                if (gp) {
                    metrics.counters.inc(Counter.MSR_GP);
                }
                if (m.msr() == ApfMsr.MSR_KVM_ASYNC_PF_ACK && !gp && (m.value() & 1) != 0) {
                    metrics.counters.inc(Counter.ACKS);
                }
                trace(new TraceEvent.Msr(sim.now(), id, true, m.msr(), m.value(), gp));
                guest.msrResult(gp, 0);
                scheduleEnter(c.vmExitNs() + c.msrNs());
            }
            case GuestExit.RdMsr m -> {
                ApfMsrHandler.Result r = msrs.read(m.msr());
                boolean gp = r == null || r.gp();
                trace(new TraceEvent.Msr(sim.now(), id, false, m.msr(), gp ? 0 : r.value(), gp));
                guest.msrResult(gp, gp ? 0 : r.value());
                scheduleEnter(c.vmExitNs() + c.msrNs());
            }
            case GuestExit.Hvc h -> {
                long x0 = rules.hypercall(h.func(), h.arg()); // kvm_hvc_call_handler
                guest.hvcResult(x0);
                scheduleEnter(c.vmExitNs() + c.msrNs());
            }
            case GuestExit.Cr0Write w -> {
                boolean old = cpu.paging;
                cpu.paging = w.paging();
                if (old != w.paging()) {
                    postSetCr0(w.paging());
                }
                scheduleEnter(c.vmExitNs());
            }
            case GuestExit.Cr3Write w -> {
                cpu.cr3 = w.cr3();
                scheduleEnter(c.vmExitNs());
            }
            case GuestExit.NestedSwitch n -> {
                cpu.guestMode = n.enterL2(); // VMLAUNCH/VMRESUME or a nested VM-exit to L1
                scheduleEnter(c.vmExitNs());
            }
            case GuestExit.SpivWrite s -> {
                boolean was = lapic.enabled();
                lapic.setSoftwareEnabled(s.enabled());
                if (!was && s.enabled() && config.policy().lapicDisabledFix()) {
                    makeRequest(REQ_APF_READY); // apic_set_spiv (2f15d027c05f)
                }
                scheduleEnter(c.vmExitNs());
            }
            case GuestExit.Init i -> {
                vcpuReset();
                scheduleEnter(c.vmExitNs());
            }
            case GuestExit.IrqWindow w -> scheduleEnter(c.vmExitNs());
            case GuestExit.Dead d -> stopThread();
            case GuestExit.Continue k -> throw new IllegalStateException("Continue is not an exit");
        }
    }

    /** {@code kvm_post_set_cr0}, the async PF part. */
    private void postSetCr0(boolean paging) {
        if (config.policy().cr0PgToggle() == X86Policy.Cr0PgToggle.CLEAR_QUEUE) {
            asyncPf.clearCompletionQueue("cr0-pg"); // e5f3f0279601
            apf.gfns.reset();
        } else if (paging && apf.pvEnabled()) {
            makeRequest(REQ_APF_READY);
        }
    }

    private void handleEptViolation(GuestExit.EptViolation e) {
        metrics.counters.inc(Counter.EPT_VIOLATIONS);
        HostCosts c = config.costs();
        long base = c.vmExitNs() + c.eptViolationNs();
        switch (mmu.pageFault(e.gpa(), e.gva(), e.write())) {
            case FIXED -> scheduleEnter(base + c.minorFaultNs());
            case RETRY_ASYNC -> scheduleEnter(base + c.asyncSetupNs());
            case RETRY_HALT -> scheduleEnter(base);
            case SYNC -> syncFault(e.gpa() >>> 12);
            case EFAULT -> vmStop("efault", HostMemory.EFAULT, e.gpa() >>> 12);
            case HWPOISON -> vmStop("hwpoison", HostMemory.EHWPOISON, e.gpa() >>> 12);
        }
    }

    /** The synchronous path: the vCPU thread blocks in GUP; no interrupt reaches the guest meanwhile. */
    private void syncFault(long gfn) {
        state = RunState.SYNC_WAIT;
        long start = sim.now();
        time.hostState(TimeCategory.SYNC_BLOCKED, start);
        vcpuState(start, "sync");
        trace(new TraceEvent.SyncFault(start, id, gfn, mmu.syncReason.key()));
        memory.getUserPages(gfn, (g, errno) -> {
            if (state == RunState.STOPPED) {
                return;
            }
            metrics.syncFault.record(sim.now() - start);
            if (errno == HostMemory.EHWPOISON) {
                vmStop("hwpoison", errno, g);
            } else if (errno != 0) {
                vmStop("efault", errno, g); // kvm_handle_error_pfn → KVM_RUN fails with EFAULT
            } else {
                memory.map(g);
                mmu.listener.mapped(g);
                time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
                vcpuState(sim.now(), "host");
                scheduleEnter(config.costs().minorFaultNs());
            }
        });
    }

    /** {@code kvm_vcpu_reset}: MSRs zeroed, queue and hash cleared, unhalted; {@code apf.id} keeps counting. */
    private void vcpuReset() {
        apf.msrEnVal = 0;
        apf.msrIntVal = 0;
        asyncPf.clearCompletionQueue("reset");
        apf.gfns.reset();
        apf.halted = false;
        apf.pageReadyPending = false;
        cancelPendingException();
        rules.reset();
        cpu.reset();
        lapic.reset(true);
        guest.reset(sim.now());
    }

    /** KVM_RUN returns an error to the VMM, which stops the VM. */
    void vmStop(String reason, int errno, long gfn) {
        if (errno == HostMemory.EFAULT) {
            metrics.counters.inc(Counter.EFAULT_EXITS);
        } else if (errno == HostMemory.EHWPOISON) {
            metrics.counters.inc(Counter.HWPOISON_EXITS);
        }
        trace(new TraceEvent.UserspaceExit(sim.now(), id, errno, reason));
        stopThread();
        observer.vmStopped(sim.now(), id, reason, errno, gfn);
    }

    private void stopThread() {
        state = RunState.STOPPED;
        vcpuState(sim.now(), "stopped");
        time.hostState(null, sim.now());
    }

    /** Closes the time accounting at the end of a run. */
    public void finish(long now) {
        if (state == RunState.IN_GUEST) {
            guest.preempt(now);
        }
        time.finish(now);
    }
}
