package dev.apfsim.kvm.x86;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.x86.X86CpuState;
import dev.apfsim.arch.x86.X86Exit;
import dev.apfsim.arch.x86.X86GuestCode;
import dev.apfsim.engine.Simulator;
import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.kvm.KvmArch;
import dev.apfsim.kvm.KvmVcpu;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/**
 * The x86 half of one vCPU ({@code vcpu->arch} and {@code arch/x86/kvm/x86.c}'s part of KVM_RUN): the requests
 * {@code vcpu_enter_guest} checks, {@code kvm_check_and_inject_events}, the x86 exits (MSRs, CR0/CR3, nested
 * transitions, SPIV, INIT), the LAPIC, the async PF rules ({@link X86AsyncPf}), the MMU fault path
 * ({@link X86Mmu}), migration of vCPU state and the seed-004 error policies.
 */
public final class X86Vcpu implements KvmArch {
    static final int REQ_APF_HALT = 1 << 8;  // KVM_REQ_APF_HALT (KVM_ARCH_REQ(7) in the kernel; any arch bit here)
    static final int REQ_APF_READY = 1 << 9; // KVM_REQ_APF_READY

    /** The generic vCPU this is the x86 part of. */
    public final KvmVcpu kvm;
    public final int id;
    final Simulator sim;
    final X86Config config;
    final Metrics metrics;
    public final X86CpuState cpu;
    public final Lapic lapic = new Lapic();
    public final X86Apf apf = new X86Apf();
    final AsyncPf asyncPf;
    final X86AsyncPf x86;
    final X86Mmu mmu;
    private final ApfMsrHandler msrs;
    private final GuestRam ram;
    ErrorPolicyHook errorPolicy;
    private X86GuestCode guest;

    /** {@code MSR_IA32_APICBASE}: bit 11 is the APIC's hardware enable. */
    static final int MSR_IA32_APICBASE = 0x1b;
    static final long APICBASE_ENABLE = 1L << 11;
    static final long APICBASE_BSP = 1L << 8;
    /**
     * INIT to STARTUP: Linux's {@code wakeup_secondary_cpu_via_init} sends the STARTUP IPI right after INIT
     * deassert on current CPUs ({@code init_udelay} 0) and a short udelay.
     */
    static final long SIPI_AFTER_INIT_NS = 10_000;

    /** {@code mp_state == KVM_MP_STATE_INIT_RECEIVED}: after INIT, waiting for a STARTUP IPI. */
    private boolean initReceived;

    /** A queued #PF (async "page not present"): token to deliver as CR2, or -1. */
    private long pendingPfToken = -1;
    /** The queued #PF is an async #PF taken in L2, to be delivered as a nested VM-exit to L1. */
    private boolean pendingPfNested;
    /** {@code vcpu->arch.nmi_pending}: an NMI waits to be injected. */
    private boolean nmiPending;

    public X86Vcpu(KvmVcpu kvm, X86Config config, HostMemory memory, GuestRam ram, X86CpuState cpu) {
        this.kvm = kvm;
        this.id = kvm.id;
        this.sim = kvm.simulator();
        this.config = config;
        this.metrics = kvm.metrics();
        this.ram = ram;
        this.cpu = cpu;
        this.asyncPf = kvm.asyncPf();
        this.x86 = new X86AsyncPf(this, asyncPf, ram, memory);
        this.mmu = new X86Mmu(this, memory);
        this.msrs = new ApfMsrHandler(this, asyncPf, ram);
        this.errorPolicy = ErrorPolicies.create(config.policy().errorPolicy());
        this.apf.legacy = config.policy().pageReadyDelivery() == X86Policy.PageReadyDelivery.PF_LEGACY;
        this.apf.id = config.apfIdStart();
        this.cpu.tdp = config.tdp();
        kvm.setArch(this);
    }

    public void attachGuest(X86GuestCode g) {
        this.guest = g;
        kvm.attachGuest(g);
    }

    public AsyncPf asyncPf() {
        return asyncPf;
    }

    public KvmVcpu.RunState runState() {
        return kvm.runState();
    }

    public X86AsyncPf x86() {
        return x86;
    }

    /** The error policy's state, hashed (seed 004: error_gfn), for the checker's abstract state. */
    public long errorPolicyState() {
        return errorPolicy.stateHash();
    }

    public void setErrorPolicy(ErrorPolicyHook hook) {
        this.errorPolicy = hook;
    }

    // ---- the generic vCPU's services, as the x86 code calls them ---------------------------------------

    void trace(TraceEvent e) {
        kvm.trace(e);
    }

    boolean probing() {
        return kvm.probing();
    }

    void probe(Probe p) {
        kvm.probe(p);
    }

    void makeRequest(int req) {
        kvm.makeRequest(req);
    }

    void mpStateRunnable() {
        kvm.mpStateRunnable();
    }

    void kick() {
        kvm.kick();
    }

    void wakeUp() {
        kvm.wakeUp();
    }

    HostCosts costs() {
        return kvm.costs();
    }

    public boolean hasPendingException() {
        return pendingPfToken >= 0;
    }

    // ---- KvmArch: async_pf.c hooks (X86AsyncPf) --------------------------------------------------------

    /** kvm_arch_async_page_not_present */
    @Override
    public boolean asyncPageNotPresent(dev.apfsim.kvm.KvmAsyncPf work) {
        return x86.asyncPageNotPresent(work);
    }

    /** kvm_arch_async_page_ready */
    @Override
    public boolean asyncPageReady(dev.apfsim.kvm.KvmAsyncPf work) {
        return mmu.asyncPageReady(work);
    }

    /** the blocking GUP of kvm_arch_async_page_ready's prefetch fault returned */
    @Override
    public void prefaultFaultedIn(dev.apfsim.kvm.KvmAsyncPf work, int errno) {
        mmu.prefaultFaultedIn(work, errno);
    }

    /** kvm_arch_async_page_present */
    @Override
    public void asyncPagePresent(dev.apfsim.kvm.KvmAsyncPf work) {
        x86.asyncPagePresent(work);
    }

    /** kvm_arch_async_page_present_queued */
    @Override
    public void asyncPagePresentQueued() {
        x86.asyncPagePresentQueued();
    }

    /** kvm_arch_can_dequeue_async_page_present */
    @Override
    public boolean canDequeueAsyncPagePresent() {
        return x86.canDequeueAsyncPagePresent();
    }

    // ---- KvmArch: the run loop ------------------------------------------------------------------------

    /** kvm_vcpu_running: not in the synthetic halt ({@code vcpu->arch.apf.halted}). */
    @Override
    public boolean vcpuRunning() {
        return !apf.halted && !initReceived; // KVM_MP_STATE_INIT_RECEIVED is not running
    }

    /** {@code KVM_MP_STATE_INIT_RECEIVED}: the vCPU got INIT and waits for SIPI. */
    public boolean initReceived() {
        return initReceived;
    }

    /** kvm_vcpu_has_events, the parts the model has. */
    @Override
    public boolean vcpuHasEvents() {
        if (initReceived) {
            return false; // only SIPI (kvm_apic_has_pending_init_or_sipi) makes it runnable
        }
        return hasPendingException() || (nmiPending && !cpu.nmiBlocked)
                || (cpu.interruptAllowed() && lapic.hasInterrupt());
    }

    /** vcpu_enter_guest: KVM_REQ_APF_HALT, KVM_REQ_APF_READY, then the error policy's forced exit. */
    @Override
    public Entry vcpuEnterGuest() {
        if (kvm.checkRequest(REQ_APF_HALT)) {
            apf.halted = true;
            metrics.counters.inc(Counter.SYNTHETIC_HALTS);
            trace(new TraceEvent.ApfHalt(sim.now(), id, -1));
            return Entry.AGAIN;
        }
        // ≤5.7 vcpu_run polled at the bottom of every iteration, before cond_resched: a pass that resumes from
        // the scheduler (a kworker ran meanwhile) enters the guest without polling again
        if ((kvm.checkRequest(REQ_APF_READY) || (apf.legacy && !kvm.afterResched())) && !asyncPf.checkCompletion()) {
            return Entry.ASLEEP; // in a prefault's GUP
        }
        Integer forced = errorPolicy.forcedExit();
        if (forced != null) {
            kvm.vmStop("efault-request", forced, -1); // KVM_RUN fails with -EFAULT
            return Entry.STOP;
        }
        return Entry.ENTER;
    }

    @Override
    public boolean inApfHalt() {
        return apf.halted;
    }

    @Override
    public void vcpuUnhalted() {
        apf.halted = false;
    }

    /**
     * {@code kvm_check_and_inject_events}: one exception, else an NMI unless one is in service, else one interrupt
     * if the guest takes it; what is left asks for its window.
     */
    @Override
    public void injectPendingEvents(long at) {
        boolean canInject = pendingPfToken < 0;
        if (pendingPfToken >= 0) {
            long token = pendingPfToken;
            pendingPfToken = -1;
            probe(new Probe.HaltProgress(id));
            probe(new Probe.NotificationDelivered(id, token));
            if (pendingPfNested) {
                pendingPfNested = false;
                // nested_vmx_inject_exception_vmexit: #PF, hard exception, error code valid (CR0.PE, is_protmode)
                int intrInfo = cpu.protectedMode() ? 0x80000b0e : 0x8000030e;
                trace(new TraceEvent.NestedVmexitInject(sim.now(), id, "EXCEPTION_NMI", token, 0, intrInfo, 0));
                guest.deliverNestedPfExit(at, token);
            } else {
                trace(new TraceEvent.InjException(sim.now(), id, ApfMsr.PF_VECTOR, true, 0));
                guest.deliverException(at, ApfMsr.PF_VECTOR, 0, token);
            }
        }
        if (nmiPending) {
            if (canInject && !cpu.nmiBlocked) {
                nmiPending = false;
                canInject = false;
                probe(new Probe.HaltProgress(id));
                guest.deliverNmi(at);
            } else {
                cpu.nmiWindowExiting = true; // enable_nmi_window
            }
        }
        if (canInject && cpu.interruptAllowed() && lapic.hasInterrupt()) {
            probe(new Probe.HaltProgress(id));
            guest.deliverInterrupt(at, lapic.acknowledge());
        }
        if (lapic.hasInterrupt()) {
            // kvm_cpu_has_injectable_intr after the attempt → enable_irq_window: IF=0, the STI shadow, or an
            // exception injected first (can_inject = false) keep it out; exit as soon as the guest can take it
            cpu.interruptWindowExiting = true;
        }
    }

    /**
     * {@code handle_interrupt_window} / {@code handle_nmi_window}: clear the window-exiting controls; the next entry
     * injects (and asks again for what it still cannot).
     */
    @Override
    public void interruptWindowExit() {
        cpu.interruptWindowExiting = false;
        cpu.nmiWindowExiting = false;
        metrics.counters.inc(Counter.IRQ_WINDOW_EXITS);
    }

    /**
     * {@code kvm_inject_page_fault} of an async #PF: a pending #PF with the token as payload (CR2); taken while
     * L2 runs, a pending nested VM-exit to L1 instead ("Async #PF in L2 is always forwarded to L1 as a VM-Exit").
     */
    void injectAsyncPageFault(int token) {
        pendingPfToken = Integer.toUnsignedLong(token);
        pendingPfNested = cpu.guestMode && config.policy().nestedAsyncPf() == X86Policy.NestedAsyncPf.VMEXIT;
    }

    void cancelPendingException() {
        pendingPfToken = -1;
        pendingPfNested = false;
    }

    /** The token slot (interrupt delivery) or the queued #PF (legacy delivery) holds a page-ready for it. */
    @Override
    public boolean pageReadyInFlight(long token) {
        if (pendingPfToken == token) {
            return true;
        }
        long gpa = apf.dataGpa + ApfMsr.OFFSET_TOKEN;
        return apf.dataGpa >= 0 && ram.valid(gpa) && Integer.toUnsignedLong(ram.read32(gpa)) == token;
    }

    /** {@code kvm_inject_nmi} (a perf NMI from the guest's PMU, or KVM_NMI from the VMM): then the kick. */
    public void injectNmi() {
        nmiPending = true;
        kick();
    }

    /** {@code kvm_apic_set_irq}, fixed mode, to this vCPU. */
    public void apicSetIrq(int vector) {
        if (lapic.acceptFixed(vector)) {
            trace(new TraceEvent.ApicAcceptIrq(sim.now(), id, id, vector));
            kick();
        } else if (vector == apf.vec && apf.pageReadyPending) {
            probe(new Probe.PageReadyDropped(id, vector)); // the token slot stays busy
        }
    }

    // ---- KvmArch: exits ---------------------------------------------------------------------------------

    @Override
    public void handleExit(GuestExit exit) {
        HostCosts c = costs();
        if (!(exit instanceof GuestExit.MemoryFault)) {
            // KVM completes the instruction (kvm_skip_emulated_instruction → vmx_set_interrupt_shadow(vcpu, 0)):
            // an STI shadow on it ends here; an EPT violation retries the instruction, still under the shadow
            cpu.interruptShadow = false;
        }
        switch (exit) {
            case GuestExit.MemoryFault e -> handleEptViolation(e);
            case GuestExit.Init i -> {
                vcpuReset();
                // kvm_apic_accept_events: an AP that gets INIT waits for SIPI (the guest's APs are CPUs 1..n)
                if (id == 0) {
                    kvm.exitHandled(0);
                } else {
                    initReceived = true;
                    sim.after(SIPI_AFTER_INIT_NS, (code, arg) -> startup(), 0, 0);
                    kvm.exitHandled(0);
                }
            }
            case X86Exit.WrMsr m when m.msr() == MSR_IA32_APICBASE -> {
                setApicBase(m.value());
                trace(new TraceEvent.Msr(sim.now(), id, true, m.msr(), m.value(), false));
                guest.msrResult(false, 0);
                kvm.exitHandled(c.msrNs());
            }
            case X86Exit.RdMsr m when m.msr() == MSR_IA32_APICBASE -> {
                long v = 0xfee00000L | (lapic.hardwareEnabled() ? APICBASE_ENABLE : 0) | (id == 0 ? APICBASE_BSP : 0);
                trace(new TraceEvent.Msr(sim.now(), id, false, m.msr(), v, false));
                guest.msrResult(false, v);
                kvm.exitHandled(c.msrNs());
            }
            case X86Exit.WrMsr m -> {
                ApfMsrHandler.Result r = msrs.write(m.msr(), m.value());
                boolean gp = r == null || r.gp();
                if (gp) {
                    metrics.counters.inc(Counter.MSR_GP);
                }
                if (m.msr() == ApfMsr.MSR_KVM_ASYNC_PF_ACK && !gp && (m.value() & 1) != 0) {
                    metrics.counters.inc(Counter.ACKS);
                }
                kvm.afterPrefault(() -> { // the ACK's completion check may block in a prefault first
                    trace(new TraceEvent.Msr(sim.now(), id, true, m.msr(), m.value(), gp));
                    guest.msrResult(gp, 0);
                    kvm.exitHandled(c.msrNs());
                });
            }
            case X86Exit.Io io -> {
                // handle_io → KVM_EXIT_IO: the VMM handles the access and calls KVM_RUN again
                trace(new TraceEvent.Pio(sim.now(), id, !io.in(), io.port(), 4, io.in() ? 0 : io.value()));
                kvm.exitHandled(c.pioExitNs());
            }
            case X86Exit.RdMsr m -> {
                ApfMsrHandler.Result r = msrs.read(m.msr());
                boolean gp = r == null || r.gp();
                trace(new TraceEvent.Msr(sim.now(), id, false, m.msr(), gp ? 0 : r.value(), gp));
                guest.msrResult(gp, gp ? 0 : r.value());
                kvm.exitHandled(c.msrNs());
            }
            case GuestExit.PagingWrite w -> {
                boolean old = cpu.paging;
                cpu.paging = w.paging();
                cpu.pe |= w.paging(); // CR0.PG needs CR0.PE
                if (old != w.paging()) {
                    postSetCr0(w.paging());
                }
                kvm.exitHandled(0);
            }
            case GuestExit.PgdWrite w -> {
                cpu.pgd = w.pgd();
                kvm.exitHandled(0);
            }
            case GuestExit.NestedSwitch n -> {
                cpu.guestMode = n.enterL2(); // VMLAUNCH/VMRESUME or a nested VM-exit to L1
                kvm.exitHandled(0);
            }
            case GuestExit.IrqControllerEnable s -> {
                lapic.setSoftwareEnabled(s.enabled());
                if (s.enabled() && config.policy().lapicDisabledFix()) {
                    makeRequest(REQ_APF_READY); // apic_set_spiv: on every write with the enable bit (2f15d027c05f)
                }
                kvm.exitHandled(0);
            }
            default -> throw new IllegalStateException("not an x86 exit: " + exit);
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

    private void handleEptViolation(GuestExit.MemoryFault e) {
        metrics.counters.inc(Counter.EPT_VIOLATIONS);
        HostCosts c = costs();
        long handler = c.eptViolationNs();
        switch (mmu.pageFault(e.gpa(), e.gva(), e.write())) {
            case FIXED -> kvm.exitHandledMinorFault(handler);
            case RETRY_ASYNC -> kvm.exitHandled(handler + c.asyncSetupNs());
            case RETRY_HALT -> kvm.exitHandled(handler);
            case SYNC -> kvm.syncFault(e.gpa() >>> 12, mmu.syncReason);
            case EFAULT -> kvm.vmStop("efault", HostMemory.EFAULT, e.gpa() >>> 12);
            case HWPOISON -> kvm.vmStop("hwpoison", HostMemory.EHWPOISON, e.gpa() >>> 12);
        }
    }

    /**
     * {@code kvm_vcpu_reset}: MSRs zeroed, queue and hash cleared, unhalted; {@code apf.id} keeps counting and
     * {@code apf.pageready_pending} is left alone (only the guest's ACK write clears it). {@code kvm_lapic_reset}
     * leaves the LAPIC software-disabled (SPIV = 0xff) until the guest enables it.
     */
    private void vcpuReset() {
        apf.msrEnVal = 0;
        apf.msrIntVal = 0;
        asyncPf.clearCompletionQueue("reset");
        apf.gfns.reset();
        apf.halted = false;
        if (config.policy().pageReadyWaitsForAck()) {
            apf.pageReadyPending = false; // the policy's gate: an ACK that will never come must not hold it shut
        }
        cancelPendingException();
        nmiPending = false;
        cpu.reset();
        lapic.reset(false);
        if (id == 0) {
            guest.reset(sim.now()); // the BSP restarts at the reset vector at once
        }
    }

    /** {@code kvm_vcpu_deliver_sipi_vector}: the AP starts at the trampoline and boots from scratch. */
    private void startup() {
        if (!initReceived) {
            return;
        }
        initReceived = false;
        guest.reset(sim.now());
        wakeUp();
    }

    /** {@code kvm_lapic_set_base}: hardware-enabling the APIC asks for pending page-ready events. */
    private void setApicBase(long value) {
        boolean on = (value & APICBASE_ENABLE) != 0;
        boolean was = lapic.hardwareEnabled();
        lapic.setHardwareEnabled(on);
        if (on && !was && config.policy().lapicDisabledFix()) {
            makeRequest(REQ_APF_READY); // "Check if there are APF page ready requests pending"
        }
    }

    /** {@code __kvm_faultin_pfn}: the second, blocking {@code __gfn_to_pfn_memslot} is asked to be interruptible. */
    @Override
    public boolean gupInterruptible() {
        return true;
    }

    /**
     * Live migration of this vCPU (seed 000): KVM_RUN returns, the VMM saves the MSRs and the vCPU events, and a
     * destination vCPU is set up from them. Host-only async PF state (queue, done list, gfn hash, apf.halted,
     * pageready_pending, apf.id) does not travel; the destination's enabling write queues a wake-all. A pending
     * nested async #PF comes back as the saving policy allows.
     */
    @Override
    public void migrate() {
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
        kick();
    }
}
