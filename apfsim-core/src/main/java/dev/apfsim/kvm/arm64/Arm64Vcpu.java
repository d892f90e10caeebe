package dev.apfsim.kvm.arm64;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.arm64.Arm64CpuState;
import dev.apfsim.arch.arm64.Arm64Exit;
import dev.apfsim.arch.arm64.Arm64GuestCode;
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

import static dev.apfsim.arch.arm64.Arm64Apf.*;

/**
 * The arm64 half of one vCPU under Gavin Shan's "[PATCH RFCv2 7/9] kvm/arm64: Support async page fault" (May 2020,
 * {@code virt/kvm/arm/async_pf.c}; never merged, seed thread 002), plugged into the generic core: its own
 * {@code vcpu->arch.apf} ({@link Arm64ApfState}), the stage-2 fault path ({@code kvm_handle_user_mem_abort} →
 * {@code try_async_pf}), the injection of notifications as data aborts ({@code kvm_inject_dabt}) or, with
 * {@link Arm64Injection#SDEI}, as an SDEI event plus a PPI through the {@link Vgic} acknowledged with an SMCCC call,
 * and the async PF hypercall.
 */
public final class Arm64Vcpu implements KvmArch {
    public final KvmVcpu kvm;
    public final int id;
    public final Arm64CpuState cpu;
    public final Vgic vgic = new Vgic();
    private final Arm64Config config;
    private final Arm64Injection injection;
    private final Arm64ApfState apf = new Arm64ApfState();
    private final AsyncPf generic;
    private final HostMemory memory;
    private final GuestRam ram;
    private Arm64GuestCode guest;
    /** A notification queued for the next entry: its token, or -1. */
    private long pendingToken = -1;
    private int lastToken;
    private Counter syncReason;

    public Arm64Vcpu(KvmVcpu kvm, Arm64Config config, HostMemory memory, GuestRam ram, Arm64CpuState cpu) {
        this.kvm = kvm;
        this.id = kvm.id;
        this.config = config;
        this.injection = config.injection();
        this.memory = memory;
        this.ram = ram;
        this.cpu = cpu;
        this.generic = kvm.asyncPf();
        this.apf.id = config.apfIdStart();
        kvm.setArch(this);
    }

    public void attachGuest(Arm64GuestCode g) {
        this.guest = g;
        kvm.attachGuest(g);
    }

    public Arm64Injection injection() {
        return injection;
    }

    public long controlBlock() {
        return apf.controlBlock;
    }

    public long noFaultInstRange() {
        return apf.noFaultInstRange;
    }

    private boolean enabled() {
        return (apf.controlBlock & KVM_ASYNC_PF_ENABLED) != 0;
    }

    private long now() {
        return kvm.now();
    }

    private void trace(TraceEvent e) {
        kvm.trace(e);
    }

    /** {@code kvm_async_pf_read_cache}: true when the reason word reads 0 (a failed read counts as busy). */
    private boolean reasonClear() {
        long gpa = apf.dataGpa + OFFSET_REASON;
        return apf.dataGpa >= 0 && ram.valid(gpa) && ram.read32(gpa) == 0;
    }

    /** The RFCv2 guard: {@code pc >= vbar && pc < (vbar + vcpu->arch.apf.no_fault_inst_range)}. */
    private boolean pcInNoFaultRange() {
        long vbar = cpu.vbarEl1;
        long pc = cpu.pc();
        return Long.compareUnsigned(pc, vbar) >= 0 && Long.compareUnsigned(pc, vbar + apf.noFaultInstRange) < 0;
    }

    /** kvm_arch_can_inject_async_page_not_present: null when the fault may go async, else why it is synchronous. */
    Counter cannotDoAsyncPf() {
        if (!enabled()) {
            return Counter.SYNC_APF_NOT_ENABLED;
        }
        if (apf.sendUserOnly && cpu.cpl == 0) {
            return Counter.SYNC_KERNEL_MODE; // vcpu_mode_priv
        }
        if (!reasonClear()) {
            return Counter.SYNC_EVENT_PENDING; // "Pending page fault, which ins't acknowledged by guest"
        }
        return switch (injection) {
            case PC_RANGE -> pcInNoFaultRange() ? Counter.SYNC_PC_GUARD : null;
            case UNGUARDED -> null;
            case SDEI -> cpu.interruptAllowed() ? null : Counter.SYNC_IRQS_OFF; // the SDEI event is masked
        };
    }

    /** What the stage-2 abort handler decided. */
    private enum Outcome { FIXED, RETRY_ASYNC, RETRY, SYNC, EFAULT, HWPOISON }

    /**
     * {@code kvm_handle_user_mem_abort} → RFCv2 {@code try_async_pf}: {@code __gfn_to_pfn_memslot} without waiting;
     * a page that needs I/O goes async when {@code kvm_arch_can_inject_async_page_not_present} allows, and a gfn
     * already in the hash makes the guest retry ("return true") rather than halting it as x86 does.
     */
    private Outcome userMemAbort(long ipa) {
        long gfn = ipa >>> 12;
        if (gfn >= memory.frames()) {
            return Outcome.EFAULT; // no memslot
        }
        switch (memory.faultinNowait(gfn)) {
            case MAPPED_NOW -> {
                memory.map(gfn);
                kvm.faults().mapped(gfn);
                kvm.metrics().counters.inc(Counter.MINOR_FAULTS);
                return Outcome.FIXED;
            }
            case EFAULT -> {
                return Outcome.EFAULT;
            }
            case HWPOISON -> {
                return Outcome.HWPOISON;
            }
            case NEEDS_IO -> {
            }
        }
        Counter refused = kvm.asyncPfEnabled() ? cannotDoAsyncPf() : Counter.SYNC_APF_DISABLED_HOST;
        if (refused == null) {
            trace(new TraceEvent.TryAsyncGetPage(now(), id, ipa, gfn));
            kvm.metrics().counters.inc(Counter.TRY_ASYNC);
            if (apf.gfns.contains(gfn)) {
                trace(new TraceEvent.RepeatedFault(now(), id, ipa, gfn));
                kvm.metrics().counters.inc(Counter.REPEATED_FAULTS);
                return Outcome.RETRY;
            }
            if (setupAsyncPf(ipa, gfn)) {
                kvm.metrics().counters.inc(Counter.ASYNC_STARTED);
                kvm.faults().asyncFault(now(), id, gfn, Integer.toUnsignedLong(lastToken));
                return Outcome.RETRY_ASYNC;
            }
            refused = Counter.SYNC_QUEUE_FULL;
        }
        syncReason = refused;
        kvm.metrics().counters.inc(refused);
        return Outcome.SYNC;
    }

    /**
     * kvm_arch_setup_async_pf. The token uses the x86 format {@code (apf.id++ << 12) | vcpu_id}, skipping 0 when the
     * id wraps (as x86's 6f3c1fc53d86, {@code host.policy.token_wrap_fix}). RFCv2 itself computed
     * {@code (vcpu->arch.apf.id++ << 16) | vcpu->vcpu_id} with a u16 id starting at 0, which gives vCPU 0 token 0
     * on its first async PF (the token-zero invariant would fire at once); see docs/arm64.md.
     */
    private boolean setupAsyncPf(long ipa, long gfn) {
        if (apf.id << 12 == 0 && config.tokenWrapFix()) {
            apf.id = 1;
        }
        int token = (apf.id++ << 12) | id;
        lastToken = token;
        kvm.probe(new Probe.AsyncPfSetup(id, token, gfn));
        KvmAsyncPf work = new KvmAsyncPf(ipa, 0x7f0000000000L + (gfn << 12), false, token, gfn, null, now());
        return generic.setup(work);
    }

    // ---- async_pf.c hooks -------------------------------------------------------------------------------

    /** kvm_arch_async_page_not_present: hash the gfn, reason = PAGE_NOT_PRESENT, inject the notification. */
    @Override
    public boolean asyncPageNotPresent(KvmAsyncPf work) {
        trace(new TraceEvent.NotPresent(now(), id, work.tokenUnsigned(), work.cr2OrGpa));
        apf.gfns.add(work.gfn);
        if (!putReason(KVM_PV_REASON_PAGE_NOT_PRESENT)) {
            apf.gfns.remove(work.gfn); // "Error %d writing cache"
            return false;
        }
        kvm.metrics().counters.inc(Counter.NOT_PRESENT_INJECTED);
        pendingToken = work.tokenUnsigned(); // kvm_inject_dabt(vcpu, work->arch.token), or the SDEI event
        return true;
    }

    /** kvm_async_pf_write_cache of the reason word; the previous one must have been consumed. */
    private boolean putReason(int reason) {
        long gpa = apf.dataGpa + OFFSET_REASON;
        if (apf.dataGpa < 0 || !ram.valid(gpa)) {
            return false;
        }
        kvm.probe(new Probe.SharedWordWrite(id, Probe.Word.REASON, ram.read32(gpa), reason));
        return ram.write32(gpa, reason);
    }

    /** SDEI mode: the page-ready token word, x86's {@code apf_put_user_ready}. */
    private boolean putToken(int token) {
        long gpa = apf.dataGpa + OFFSET_TOKEN;
        if (apf.dataGpa < 0 || !ram.valid(gpa)) {
            return false;
        }
        kvm.probe(new Probe.SharedWordWrite(id, Probe.Word.TOKEN, ram.read32(gpa), token));
        return ram.write32(gpa, token);
    }

    /**
     * kvm_arch_async_page_ready: prefault through the stage-2 fault path ({@code kvm_handle_user_mem_abort} with
     * prefault); RFCv2 has no MMU-context test, the stage-2 tables are the VM's. RFCv2's {@code try_async_pf} never
     * goes async with {@code prefault} and falls through to the blocking {@code __gfn_to_pfn_memslot}, as x86 does:
     * a page that is not in blocks the vCPU thread (true: the generic code does that GUP). An error pfn is
     * {@code user_mem_abort}'s -EFAULT (or {@code kvm_send_hwpoison_signal}), which the caller ignores.
     */
    @Override
    public boolean asyncPageReady(KvmAsyncPf work) {
        if (work.wakeupAll) {
            return false;
        }
        if (memory.isResident(work.gfn)) {
            prefaultFixed(work);
            return false;
        }
        switch (memory.faultinNowait(work.gfn)) {
            case MAPPED_NOW -> prefaultFixed(work);
            case NEEDS_IO -> {
                return true;
            }
            case EFAULT -> prefaultSkipped(work, "efault");
            case HWPOISON -> {
                kvm.hwpoisonSignal(work.gfn);
                prefaultSkipped(work, "hwpoison");
            }
        }
        return false;
    }

    /** The prefault's blocking GUP returned: map, or drop the error as {@code kvm_arch_async_page_ready} does. */
    @Override
    public void prefaultFaultedIn(KvmAsyncPf work, int errno) {
        if (errno == 0) {
            prefaultFixed(work);
        } else if (errno == HostMemory.EHWPOISON) {
            kvm.hwpoisonSignal(work.gfn);
            prefaultSkipped(work, "hwpoison");
        } else {
            prefaultSkipped(work, "efault");
        }
    }

    private void prefaultFixed(KvmAsyncPf work) {
        memory.map(work.gfn);
        kvm.faults().mapped(work.gfn);
        kvm.metrics().counters.inc(Counter.PREFAULTS);
        trace(new TraceEvent.Prefault(now(), id, work.gfn, true, ""));
    }

    private void prefaultSkipped(KvmAsyncPf work, String why) {
        kvm.metrics().counters.inc(Counter.PREFAULTS_SKIPPED);
        trace(new TraceEvent.Prefault(now(), id, work.gfn, false, why));
    }

    /** kvm_arch_async_page_present: unhash, reason = PAGE_READY, inject (SDEI mode: token slot and PPI). */
    @Override
    public void asyncPagePresent(KvmAsyncPf work) {
        if (work.wakeupAll) {
            work.token = WAKE_ALL_TOKEN; // "Broadcast wakeup"
        } else {
            apf.gfns.remove(work.gfn);
        }
        kvm.metrics().counters.inc(Counter.PAGE_READY);
        trace(new TraceEvent.Ready(now(), id, work.tokenUnsigned(), work.cr2OrGpa));
        if (enabled()) {
            if (injection == Arm64Injection.SDEI) {
                if ((work.wakeupAll || work.notpresentInjected) && putToken(work.token)) {
                    kvm.probe(new Probe.PageReadyInjected(id, work.tokenUnsigned(), apf.pageReadyPending));
                    apf.pageReadyPending = true;
                    kvm.metrics().counters.inc(Counter.PAGE_READY_INJECTED);
                    vgicInjectIrq(apf.ppi);
                }
            } else if (putReason(KVM_PV_REASON_PAGE_READY)) {
                kvm.metrics().counters.inc(Counter.PAGE_READY_INJECTED);
                pendingToken = work.tokenUnsigned(); // kvm_inject_dabt(vcpu, work->arch.token)
            }
        }
        kvm.mpStateRunnable();
    }

    /**
     * kvm_arch_async_page_present_queued: RFCv2 is based on 5.7, where {@code async_pf_execute} only wakes a
     * blocked vCPU: a running vCPU sees the completion at its next exit.
     */
    @Override
    public void asyncPagePresentQueued() {
    }

    /** kvm_arch_can_dequeue_async_page_present (RFCv2 kvm_arch_can_inject_async_page_present, "only one signal"). */
    @Override
    public boolean canDequeueAsyncPagePresent() {
        if (!enabled()) {
            return true;
        }
        if (injection == Arm64Injection.SDEI) {
            if (apf.pageReadyPending && config.pageReadyWaitsForAck()) {
                return false; // the policy: the ACK call re-scans the done list
            }
            long gpa = apf.dataGpa + OFFSET_TOKEN; // the PPI path: apf_pageready_slot_free
            return ram.valid(gpa) && ram.read32(gpa) == 0;
        }
        if (!reasonClear()) {
            return false; // "Pending page fault, which ins't acknowledged by guest"
        }
        if (injection == Arm64Injection.PC_RANGE && pcInNoFaultRange()) {
            kvm.metrics().counters.inc(Counter.PAGE_READY_DEFERRED_PC_GUARD);
            return false; // "going to clobber ELR_EL1, which might not consued (or saved) by guest yet"
        }
        return true;
    }

    // ---- the run loop -------------------------------------------------------------------------------------

    /** kvm_arch_vcpu_runnable: with APF enabled, a reason the guest has not consumed makes the vCPU runnable. */
    @Override
    public boolean vcpuHasEvents() {
        return pendingToken >= 0 || (cpu.interruptAllowed() && vgic.hasInterrupt())
                || (enabled() && injection != Arm64Injection.SDEI && !reasonClear());
    }

    /** kvm_arch_vcpu_ioctl_run (RFCv2): kvm_check_async_pf_completion before every entry. */
    @Override
    public Entry vcpuEnterGuest() {
        return generic.checkCompletion() ? Entry.ENTER : Entry.ASLEEP; // ASLEEP: in a prefault's GUP
    }

    /** The queued notification (a data abort through VBAR_EL1, or an SDEI event), else a vGIC interrupt. */
    @Override
    public void injectPendingEvents(long at) {
        if (pendingToken >= 0) {
            long token = pendingToken;
            pendingToken = -1;
            kvm.probe(new Probe.HaltProgress(id));
            kvm.probe(new Probe.NotificationDelivered(id, token));
            long gpa = apf.dataGpa + OFFSET_REASON;
            int reason = apf.dataGpa >= 0 && ram.valid(gpa) ? ram.read32(gpa) : 0;
            boolean sdei = injection == Arm64Injection.SDEI;
            trace(new TraceEvent.Arm64Inject(now(), id, sdei ? "sdei" : "dabt", token, reason, cpu.pc(),
                    cpu.region()));
            if (sdei) {
                guest.deliverSdeiEvent(at, token);
            } else {
                guest.deliverDataAbort(at, token);
            }
        } else if (cpu.interruptAllowed() && vgic.hasInterrupt()) {
            kvm.probe(new Probe.HaltProgress(id));
            guest.deliverInterrupt(at, vgic.acknowledge());
        }
        if (vgic.hasInterrupt()) {
            cpu.interruptWindowExiting = true; // the pending virtual IRQ is taken as soon as PSTATE.I clears
        }
    }

    @Override
    public void interruptWindowExit() {
        cpu.interruptWindowExiting = false;
    }

    /** {@code kvm_vgic_inject_irq} for this vCPU, then the kick that makes it look. */
    public void vgicInjectIrq(int intid) {
        if (vgic.inject(intid)) {
            trace(new TraceEvent.ApicAcceptIrq(now(), id, id, intid));
            kvm.kick();
        }
    }

    @Override
    public boolean pageReadyInFlight(long token) {
        if (pendingToken == token) {
            return true;
        }
        long gpa = apf.dataGpa + OFFSET_TOKEN;
        return apf.dataGpa >= 0 && ram.valid(gpa) && Integer.toUnsignedLong(ram.read32(gpa)) == token;
    }

    @Override
    public void handleExit(GuestExit exit) {
        HostCosts c = kvm.costs();
        switch (exit) {
            case GuestExit.MemoryFault e -> {
                kvm.metrics().counters.inc(Counter.EPT_VIOLATIONS); // the stage-2 abort count
                long handler = c.eptViolationNs();
                switch (userMemAbort(e.gpa())) {
                    case FIXED -> kvm.exitHandledMinorFault(handler);
                    case RETRY_ASYNC -> kvm.exitHandled(handler + c.asyncSetupNs());
                    case RETRY -> kvm.exitHandled(handler);
                    case SYNC -> kvm.syncFault(e.gpa() >>> 12, syncReason);
                    case EFAULT -> kvm.vmStop("efault", HostMemory.EFAULT, e.gpa() >>> 12);
                    case HWPOISON -> kvm.vmStop("hwpoison", HostMemory.EHWPOISON, e.gpa() >>> 12);
                }
            }
            case Arm64Exit.Hvc h -> {
                long x0 = hypercall(h.func(), h.arg()); // kvm_hvc_call_handler
                kvm.afterPrefault(() -> { // the ACK's completion check may block in a prefault first
                    guest.hvcResult(x0);
                    kvm.exitHandled(c.msrNs());
                });
            }
            case GuestExit.Init i -> {
                vcpuReset();
                kvm.exitHandled(0);
            }
            // system-register writes an arm64 host traps (HCR_EL2.TVM) and the GIC CPU interface enable
            case GuestExit.PagingWrite w -> {
                cpu.paging = w.paging(); // SCTLR_EL1.M
                kvm.exitHandled(0);
            }
            case GuestExit.PgdWrite w -> {
                cpu.pgd = w.pgd(); // TTBR0_EL1
                kvm.exitHandled(0);
            }
            case GuestExit.IrqControllerEnable s -> {
                vgic.setEnabled(s.enabled()); // ICC_IGRPEN1_EL1
                kvm.exitHandled(0);
            }
            case GuestExit.NestedSwitch n -> {
                cpu.guestMode = n.enterL2();
                kvm.exitHandled(0);
            }
            default -> throw new IllegalStateException("not an arm64 exit: " + exit);
        }
    }

    /** kvm_hvc_call_handler → kvm_async_pf_hypercall. */
    private long hypercall(long func, long arg) {
        trace(new TraceEvent.HvcArm64(now(), id, cpu.pc(), func, 0));
        if (func != ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID) {
            return SMCCC_RET_NOT_SUPPORTED;
        }
        long op = arg & APF_OP_MASK;
        long val = arg & ~APF_OP_MASK;
        boolean sdei = injection == Arm64Injection.SDEI;
        if (op == APF_OP_ENABLE) {
            return updateEnableReg(val);
        } else if (op == APF_OP_NO_FAULT_RANGE) {
            if (enabled()) {
                return SMCCC_RET_NOT_SUPPORTED;
            }
            apf.noFaultInstRange = Math.max(apf.noFaultInstRange, val);
            return SMCCC_RET_SUCCESS;
        } else if (op == APF_OP_IRQ && sdei) {
            apf.ppi = (int) (val & 0xff);
            return SMCCC_RET_SUCCESS;
        } else if (op == APF_OP_IRQ_ACK && sdei) {
            if ((val & 1) != 0) {
                apf.pageReadyPending = false;
                kvm.metrics().counters.inc(Counter.ACKS);
                generic.checkCompletion(); // re-scan the done list, as MSR_KVM_ASYNC_PF_ACK does on x86
            }
            return SMCCC_RET_SUCCESS;
        }
        return SMCCC_RET_NOT_SUPPORTED; // "Unrecognized function"
    }

    /** kvm_async_pf_update_enable_reg. */
    private long updateEnableReg(long data) {
        boolean enabled = enabled();
        boolean enable = (data & KVM_ASYNC_PF_ENABLED) != 0;
        if (enable == enabled) {
            return SMCCC_RET_NOT_REQUIRED; // "Async PF has been %s"
        }
        if (enable) {
            long gpa = data & ~0x3fL;
            if (!ram.valid(gpa) || !ram.valid(gpa + OFFSET_ENABLED)) {
                return SMCCC_RET_NOT_SUPPORTED; // kvm_gfn_to_hva_cache_init failed
            }
            apf.dataGpa = gpa;
            apf.gfns.reset();
            apf.sendUserOnly = (data & KVM_ASYNC_PF_SEND_ALWAYS) == 0;
            if (config.pageReadyWaitsForAck()) {
                apf.pageReadyPending = false; // the policy's gate: a (re-)enabled guest has no page-ready to ACK
            }
            generic.wakeupAll();
            apf.controlBlock = data;
        } else {
            generic.clearCompletionQueue("apf-disable");
            apf.controlBlock = data;
        }
        return SMCCC_RET_SUCCESS;
    }

    /** vCPU reset: queue and hash cleared, back to {@code kvm_arch_vcpu_create}'s values. */
    private void vcpuReset() {
        generic.clearCompletionQueue("reset");
        apf.gfns.reset();
        apf.pageReadyPending = false;
        pendingToken = -1;
        apf.controlBlock = 0;
        apf.noFaultInstRange = DEFAULT_NO_FAULT_INST_RANGE;
        apf.ppi = 0;
        cpu.reset();
        vgic.reset();
        guest.reset(now());
    }

    /**
     * Migration: host-only state (queue, hash, id) is lost; the VMM registers the control block again (RFCv2 had
     * no migration support of its own).
     */
    @Override
    public void migrate() {
        trace(new TraceEvent.Migrated(now(), id, pendingToken, pendingToken >= 0 ? "pf" : "none"));
        generic.clearCompletionQueue("migration");
        apf.gfns.reset();
        apf.pageReadyPending = false;
        apf.id = 0;
        long cb = apf.controlBlock;
        apf.controlBlock = 0;
        if ((cb & KVM_ASYNC_PF_ENABLED) != 0) {
            updateEnableReg(cb);
        }
        kvm.kick();
    }
}
