package dev.apfsim.kvm.s390;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.s390.S390CpuState;
import dev.apfsim.arch.s390.S390Exit;
import dev.apfsim.arch.s390.S390GuestCode;
import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.kvm.KvmArch;
import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.kvm.KvmVcpu;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

import static dev.apfsim.arch.s390.S390Pfault.*;

/**
 * The s390 half of one vCPU: pfault as Linux 6.12 has it ({@code arch/s390/kvm/kvm-s390.c}, {@code diag.c},
 * {@code interrupt.c}). The guest registers a token address with DIAG 0x258; a guest fault that needs I/O goes
 * async when {@code kvm_arch_setup_async_pf} allows, the host injects PFAULT_INIT (a local external interruption
 * carrying the token), and — with {@code CONFIG_KVM_ASYNC_PF_SYNC} — the worker itself injects PFAULT_DONE as a
 * floating interruption once the page is in. There is no gfn hash, no prefault and no ACK.
 */
public final class S390Vcpu implements KvmArch {
    public final KvmVcpu kvm;
    public final int id;
    public final S390CpuState cpu;
    private final S390Flic flic;
    private final S390LocalInterrupts local = new S390LocalInterrupts();
    private final AsyncPf generic;
    private final HostMemory memory;
    private final GuestRam ram;
    private S390GuestCode guest;

    /** {@code vcpu->arch.pfault_token}: the guest real address of the token, or invalid. */
    private long pfaultToken = PFAULT_TOKEN_INVALID;
    private long pfaultSelect;
    private long pfaultCompare;
    /** {@code IRQ_PEND_PFAULT_INIT} with {@code li->irq.ext.ext_params2}: one slot. */
    private boolean initPending;
    /** {@code current->thread.gmap_addr} of the last major fault, as a gfn (-1: none yet). */
    private long lastFaultGfn = -1;
    private long initToken;
    private long diagResult;

    public S390Vcpu(KvmVcpu kvm, S390Flic flic, HostMemory memory, GuestRam ram, S390CpuState cpu) {
        this.kvm = kvm;
        this.id = kvm.id;
        this.flic = flic;
        this.memory = memory;
        this.ram = ram;
        this.cpu = cpu;
        this.generic = kvm.asyncPf();
        flic.add(this);
        kvm.setArch(this);
    }

    /** The gfn of the major fault traced last ({@code kvm_s390_major_guest_pfault}; -1: none): a fault attempt. */
    public long lastFaultGfn() {
        return lastFaultGfn;
    }

    /**
     * The pfault state a model checker of the protocol would keep for this vCPU: the token registered, a
     * PFAULT_INIT pending, the floating PFAULT_DONEs waiting, whether external interruptions are enabled (PSW and
     * CR0 service-signal subclass) and another one is pending.
     */
    public long abstractState() {
        long h = pfaultToken == PFAULT_TOKEN_INVALID ? 0 : 1;
        h = h * 2 + (initPending ? 1 : 0);
        h = h * 2 + (cpu.interruptAllowed() ? 1 : 0);
        h = h * 2 + (cpu.cr0ServiceSignal ? 1 : 0);
        h = h * 2 + (local.hasInterrupt() ? 1 : 0);
        return h * 64 + Math.min(63, flic.size());
    }

    public void attachGuest(S390GuestCode g) {
        this.guest = g;
        kvm.attachGuest(g);
    }

    /** The guest's view of its external interruptions (no EOI on s390). */
    public dev.apfsim.arch.InterruptController interrupts() {
        return local;
    }

    /** The token address the guest registered, or {@link dev.apfsim.arch.s390.S390Pfault#PFAULT_TOKEN_INVALID}. */
    public long pfaultToken() {
        return pfaultToken;
    }

    boolean idle() {
        return kvm.runState() == KvmVcpu.RunState.BLOCKED;
    }

    private long now() {
        return kvm.now();
    }

    private void trace(TraceEvent e) {
        kvm.trace(e);
    }

    /** {@code kvm_s390_inject_vcpu} of one of the other external interruptions (timer, IPIs, devices). */
    public void injectLocal(int vector) {
        local.inject(vector);
        kvm.kick();
    }

    // ---- async_pf.c hooks ---------------------------------------------------------------------------

    /** kvm_arch_async_page_not_present: trace, then {@code __kvm_inject_pfault_token(vcpu, true, token)}. */
    @Override
    public boolean asyncPageNotPresent(KvmAsyncPf work) {
        long token = ((S390ArchAsyncPf) work.arch).pfaultToken();
        trace(new TraceEvent.S390PfaultInit(now(), id, cpu.pswMask(), cpu.pswAddr(), token));
        initPending = true; // __inject_pfault_init: IRQ_PEND_PFAULT_INIT, ext_params2 = token
        initToken = token;
        kvm.metrics().counters.inc(Counter.NOT_PRESENT_INJECTED);
        return true;
    }

    /**
     * kvm_arch_async_page_ready (kvm-s390.c): "s390 will always inject the page directly" — no prefault, so nothing
     * ever blocks the vCPU thread here.
     */
    @Override
    public boolean asyncPageReady(KvmAsyncPf work) {
        return false;
    }

    /**
     * kvm_arch_async_page_present, from the worker ({@code CONFIG_KVM_ASYNC_PF_SYNC}): trace, then PFAULT_DONE as a
     * floating interruption ({@code kvm_s390_inject_vm}).
     */
    @Override
    public void asyncPagePresent(KvmAsyncPf work) {
        long token = ((S390ArchAsyncPf) work.arch).pfaultToken();
        trace(new TraceEvent.S390PfaultDone(now(), id, cpu.pswMask(), cpu.pswAddr(), token, work.workerCpu,
                work.worker));
        kvm.metrics().counters.inc(Counter.PAGE_READY);
        kvm.metrics().counters.inc(Counter.PAGE_READY_INJECTED);
        flic.injectPfaultDone(token);
    }

    /** kvm_arch_async_page_present_queued: never called with {@code CONFIG_KVM_ASYNC_PF_SYNC}. */
    @Override
    public void asyncPagePresentQueued() {
    }

    /** kvm_arch_can_dequeue_async_page_present: "we still want check_async_completion to cleanup". */
    @Override
    public boolean canDequeueAsyncPagePresent() {
        return true;
    }

    // ---- the run loop -------------------------------------------------------------------------------

    /** {@code deliverable_irqs}, the part pfault needs: external interruptions pending and the PSW enabled. */
    private boolean extDeliverable() {
        return cpu.interruptAllowed() && (initPending || flic.pending() || local.hasInterrupt());
    }

    /** kvm_arch_vcpu_runnable → kvm_s390_vcpu_has_irq. */
    @Override
    public boolean vcpuHasEvents() {
        return extDeliverable();
    }

    /** vcpu_pre_run: {@code kvm_check_async_pf_completion} for the house keeping, then enter. */
    @Override
    public Entry vcpuEnterGuest() {
        generic.checkCompletion(); // never blocks: s390 has no prefault
        return Entry.ENTER;
    }

    /**
     * kvm_s390_deliver_pending_interrupts: one external interruption per entry (the external new PSW masks the
     * rest), in {@code enum irq_types} order — the clock comparator and signals first, then PFAULT_INIT, then
     * PFAULT_DONE.
     */
    @Override
    public void injectPendingEvents(long at) {
        deliverOne(at);
        if (initPending || flic.pending() || local.hasInterrupt()) {
            // set_intercept_indicators_ext: intercept the guest's enabling of external interrupts
            cpu.interruptWindowExiting = true;
        }
    }

    /** The external-interrupt intercept fired: the guest enabled external interrupts with one pending. */
    @Override
    public void interruptWindowExit() {
        cpu.interruptWindowExiting = false;
    }

    private void deliverOne(long at) {
        if (!cpu.interruptAllowed()) {
            return;
        }
        if (local.hasInterrupt()) {
            kvm.probe(new Probe.HaltProgress(id));
            guest.deliverInterrupt(at, local.take());
        } else if (initPending) {
            initPending = false; // __deliver_pfault_init
            kvm.probe(new Probe.HaltProgress(id));
            kvm.probe(new Probe.NotificationDelivered(id, initToken & LPP_PID_MASK));
            guest.deliverExternalInterrupt(at, EXT_IRQ_CP_SERVICE, PFAULT_INIT, initToken);
        } else if (flic.pending()) {
            long token = flic.take(); // __deliver_pfault_done
            kvm.probe(new Probe.HaltProgress(id));
            guest.deliverExternalInterrupt(at, EXT_IRQ_CP_SERVICE, PFAULT_DONE, token);
        }
    }

    @Override
    public boolean pageReadyInFlight(long token) {
        return flic.containsPid(token) || (initPending && (initToken & LPP_PID_MASK) == token);
    }

    // ---- exits ----------------------------------------------------------------------------------------

    @Override
    public void handleExit(GuestExit exit) {
        HostCosts c = kvm.costs();
        switch (exit) {
            case GuestExit.MemoryFault e -> postRunHandleFault(e.gpa());
            case S390Exit.Diag d -> {
                if (d.code() == DIAG_PAGE_REF) {
                    diagPageRefService(d.rx());
                }
                guest.diagResult(diagResult);
                kvm.exitHandled(c.msrNs());
            }
            case GuestExit.Init i -> {
                initialReset();
                kvm.exitHandled(0);
            }
            case GuestExit.PagingWrite w -> {
                cpu.paging = w.paging(); // the PSW's DAT bit
                kvm.exitHandled(0);
            }
            case GuestExit.PgdWrite w -> {
                cpu.pgd = w.pgd(); // CR1, the primary ASCE
                kvm.exitHandled(0);
            }
            case GuestExit.IrqControllerEnable s -> {
                cpu.cr0ServiceSignal = s.enabled(); // CR0 external subclass masks
                kvm.exitHandled(0);
            }
            case GuestExit.NestedSwitch n -> {
                cpu.guestMode = n.enterL2();
                kvm.exitHandled(0);
            }
            default -> throw new IllegalStateException("not an s390 exit: " + exit);
        }
    }

    /**
     * vcpu_post_run_handle_fault for a translation exception: {@code gmap_fault} with FAULT_FLAG_RETRY_NOWAIT;
     * -EAGAIN (the page needs I/O) traces {@code kvm_s390_major_guest_pfault} and tries
     * {@code kvm_arch_setup_async_pf}; otherwise ({@code vcpu->stat.pfault_sync}) the fault is resolved
     * synchronously in the vCPU thread.
     */
    private void postRunHandleFault(long gpa) {
        HostCosts c = kvm.costs();
        long gfn = gpa >>> 12;
        kvm.metrics().counters.inc(Counter.EPT_VIOLATIONS); // the SIE intercepts for guest DAT faults
        long handler = c.eptViolationNs();
        if (gfn >= memory.frames()) {
            kvm.vmStop("efault", HostMemory.EFAULT, gfn); // vcpu_post_run_addressing_exception
            return;
        }
        switch (memory.faultinNowait(gfn)) {
            case MAPPED_NOW -> {
                memory.map(gfn);
                kvm.faults().mapped(gfn);
                kvm.metrics().counters.inc(Counter.MINOR_FAULTS);
                kvm.exitHandledMinorFault(handler);
                return;
            }
            case EFAULT -> {
                kvm.vmStop("efault", HostMemory.EFAULT, gfn);
                return;
            }
            case HWPOISON -> {
                kvm.vmStop("hwpoison", HostMemory.EHWPOISON, gfn);
                return;
            }
            case NEEDS_IO -> {
            }
        }
        Counter refused = Counter.SYNC_APF_DISABLED_HOST; // gmap->pfault_enabled
        if (kvm.asyncPfEnabled()) {
            lastFaultGfn = gfn;
            trace(new TraceEvent.S390MajorGuestPfault(now(), id, cpu.pswMask(), cpu.pswAddr()));
            refused = cannotSetupAsyncPf();
            if (refused == null) {
                kvm.metrics().counters.inc(Counter.TRY_ASYNC);
                if (setupAsyncPf(gpa, gfn)) {
                    kvm.exitHandled(handler + c.asyncSetupNs());
                    return;
                }
                refused = Counter.SYNC_QUEUE_FULL;
            }
        }
        kvm.metrics().counters.inc(refused); // vcpu->stat.pfault_sync
        kvm.syncFault(gfn, refused);
    }

    /** The conditions of {@code kvm_arch_setup_async_pf}, in its order: null if the fault may go async. */
    Counter cannotSetupAsyncPf() {
        if (pfaultToken == PFAULT_TOKEN_INVALID) {
            return Counter.SYNC_APF_NOT_ENABLED; // no DIAG 0x258 token
        }
        if ((cpu.pswMask() & pfaultSelect) != pfaultCompare) {
            return Counter.SYNC_KERNEL_MODE; // Linux selects problem state: a kernel fault is synchronous
        }
        if (!cpu.interruptAllowed()) {
            return Counter.SYNC_IRQS_OFF; // psw_extint_disabled
        }
        if (extDeliverable()) {
            return Counter.SYNC_EVENT_PENDING; // kvm_s390_vcpu_has_irq(vcpu, 0)
        }
        if (!cpu.cr0ServiceSignal) {
            return Counter.SYNC_APF_NOT_ENABLED; // CR0_SERVICE_SIGNAL_SUBMASK off
        }
        return null;
    }

    /** The tail of kvm_arch_setup_async_pf: read the token from guest real storage, then kvm_setup_async_pf. */
    private boolean setupAsyncPf(long gpa, long gfn) {
        if (!ram.valid(pfaultToken) || !ram.valid(pfaultToken + 4)) {
            return false; // read_guest_real failed
        }
        long token = ram.read64(pfaultToken);
        int shortToken = (int) (token & LPP_PID_MASK);
        kvm.probe(new Probe.AsyncPfSetup(id, shortToken, gfn));
        KvmAsyncPf work = new KvmAsyncPf(gpa, 0x7f0000000000L + (gfn << 12), false, shortToken, gfn,
                new S390ArchAsyncPf(token), now());
        if (!generic.setup(work)) {
            return false;
        }
        kvm.metrics().counters.inc(Counter.ASYNC_STARTED);
        kvm.faults().asyncFault(now(), id, gfn, Integer.toUnsignedLong(shortToken));
        return true;
    }

    /** __diag_page_ref_service: subcode 0 establishes the token, 1 cancels it; the return code goes to Ry. */
    private void diagPageRefService(long rx) {
        int w0 = ram.read32(rx + PARM_CODE);
        int w1 = ram.read32(rx + PARM_LEN);
        int code = w0 >>> 16;
        int subcode = w0 & 0xffff;
        int len = w1 >>> 16;
        int version = w1 & 0xffff;
        long tokenAddr = ram.read64(rx + PARM_TOKEN_ADDR);
        long select = ram.read64(rx + PARM_SELECT);
        long compare = ram.read64(rx + PARM_COMPARE);
        long zarch = ram.read64(rx + PARM_ZARCH);
        if ((rx & 7) != 0 || version != 2 || len < 5 || code != DIAG_PAGE_REF) {
            diagResult = -1; // PGM_SPECIFICATION
            return;
        }
        if (subcode == SUBCODE_TOKEN) {
            if (pfaultToken != PFAULT_TOKEN_INVALID) {
                diagResult = RC_ALREADY_ESTABLISHED; // "the token must not be changed"
                return;
            }
            if ((compare & select) != compare || (tokenAddr & 7) != 0 || zarch != PF_RES_FIELD
                    || !ram.valid(tokenAddr)) {
                diagResult = -1; // PGM_SPECIFICATION / PGM_ADDRESSING
                return;
            }
            pfaultToken = tokenAddr;
            pfaultSelect = select;
            pfaultCompare = compare;
            diagResult = RC_OK;
        } else if (subcode == SUBCODE_CANCEL) {
            // "we assume all outstanding tokens are already pending"
            diagResult = pfaultToken == PFAULT_TOKEN_INVALID ? RC_NOT_ESTABLISHED : RC_OK;
            pfaultToken = PFAULT_TOKEN_INVALID;
        } else {
            diagResult = -1; // -EOPNOTSUPP
        }
    }

    /** kvm_s390_vcpu_initial_reset: the token is invalidated and the completion queue cleared. */
    private void initialReset() {
        pfaultToken = PFAULT_TOKEN_INVALID;
        generic.clearCompletionQueue("reset");
        initPending = false;
        local.reset();
        cpu.reset();
        guest.reset(now());
    }

    /**
     * Migration: the VMM first disables pfault and waits for the outstanding items
     * ({@code KVM_DEV_FLIC_APF_DISABLE_WAIT}: {@code kvm_clear_async_pf_completion_queue} flushes each worker, whose
     * PFAULT_DONE is then injected); the token, select and compare masks travel in {@code kvm_run->s.regs}
     * (pft/pfs/pfc), so the destination keeps pfault enabled.
     */
    @Override
    public void migrate() {
        trace(new TraceEvent.Migrated(now(), id, initPending ? initToken & LPP_PID_MASK : -1, initPending ? "pfault-init"
                : "none"));
        for (KvmAsyncPf w : generic.queue()) {
            if (!w.completed) {
                asyncPagePresent(w); // the flushed worker's page-present
            }
        }
        generic.clearCompletionQueue("migration");
        kvm.kick();
    }
}
