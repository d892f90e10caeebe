package dev.apfsim.kvm.arm64;

import dev.apfsim.check.Invariant;
import dev.apfsim.kvm.ArchAsyncPf;
import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.kvm.x86.X86Apf;
import dev.apfsim.kvm.x86.X86Vcpu;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;

/**
 * The arm64 host rules of Gavin Shan's "[PATCH RFCv2 7/9] kvm/arm64: Support async page fault" (May 2020,
 * {@code virt/kvm/arm/async_pf.c}; never merged, seed thread 002, May 2020) for one vCPU, plugged into the
 * generic core ({@link AsyncPf}) and the shared vCPU run loop. With {@link Arm64Injection#SDEI} the not-present
 * notification becomes an SDEI event and page-ready a PPI with an ACK call, as in the later SDEI-based series.
 *
 * <p>The per-vCPU {@code vcpu->arch.apf} state of the RFC is kept where the run loop already has it: the gfn hash,
 * {@code id}, {@code send_user_only} and the control block address in {@link X86Apf}; {@code control_block},
 * {@code no_fault_inst_range} and the page-ready PPI here.
 */
public final class Arm64AsyncPf implements ArchAsyncPf {
    /** {@code ARM_SMCCC_KVM_FUNC_APF} ({@code include/linux/arm-smccc.h}, RFCv2). */
    public static final int ARM_SMCCC_KVM_FUNC_APF = 1;
    /** {@code ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID}: fast call, SMC32, owner vendor hypervisor, function 1. */
    public static final long ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID = 0x86000000L | ARM_SMCCC_KVM_FUNC_APF;
    public static final long SMCCC_RET_SUCCESS = 0;
    public static final long SMCCC_RET_NOT_REQUIRED = -2;

    /** {@code kvm_async_pf_hypercall}: bits 63:56 of the parameter select the operation, the rest is its value. */
    public static final long APF_OP_MASK = 0xffL << 56;
    /** BIT(63): {@code kvm_async_pf_update_enable_reg}, value = control block address | flags. */
    public static final long APF_OP_ENABLE = 1L << 63;
    /** BIT(62): raise {@code no_fault_inst_range} (only while disabled). */
    public static final long APF_OP_NO_FAULT_RANGE = 1L << 62;
    /** BIT(61), this model's encoding of the SDEI series' {@code ASYNC_PF_IRQ}: the page-ready PPI. */
    public static final long APF_OP_IRQ = 1L << 61;
    /** BIT(60), this model's encoding of the SDEI series' {@code ASYNC_PF_IRQ_ACK}: bit 0 acknowledges page-ready. */
    public static final long APF_OP_IRQ_ACK = 1L << 60;

    /** {@code arch/arm64/include/uapi/asm/kvm_para.h} (RFCv2). */
    public static final long KVM_ASYNC_PF_ENABLED = 1;
    public static final long KVM_ASYNC_PF_SEND_ALWAYS = 1 << 1;
    public static final int KVM_PV_REASON_PAGE_NOT_PRESENT = 1;
    public static final int KVM_PV_REASON_PAGE_READY = 2;

    /** {@code struct kvm_vcpu_pv_apf_data { __u32 reason; __u8 pad[60]; __u32 enabled; }}. */
    public static final int OFFSET_REASON = 0;
    /** SDEI mode only: the page-ready token word (inside RFCv2's padding; the model's layout). */
    public static final int OFFSET_TOKEN = 4;
    public static final int OFFSET_ENABLED = 64;
    public static final int CONTROL_BLOCK_SIZE = 68;

    /** {@code kvm_arch_vcpu_create}: {@code vcpu->arch.apf.no_fault_inst_range = 0x800}. */
    public static final long DEFAULT_NO_FAULT_INST_RANGE = 0x800;
    public static final int WAKE_ALL_TOKEN = 0xffffffff;

    private final X86Vcpu vcpu;
    private final X86Apf apf;
    private final AsyncPf generic;
    private final GuestRam ram;
    private final Arm64CpuState cpu;
    private final Arm64Injection injection;

    /** {@code vcpu->arch.apf.control_block}: address | flags as last accepted. */
    private long controlBlock;
    private long noFaultInstRange = DEFAULT_NO_FAULT_INST_RANGE;
    /** SDEI mode: the page-ready PPI. */
    private int ppi;
    private int lastToken;

    public Arm64AsyncPf(X86Vcpu vcpu, GuestRam ram) {
        if (!(vcpu.cpu instanceof Arm64CpuState s)) {
            throw new IllegalArgumentException("an arm64 vCPU needs an Arm64CpuState");
        }
        this.vcpu = vcpu;
        this.apf = vcpu.apf;
        this.generic = vcpu.asyncPf();
        this.ram = ram;
        this.cpu = s;
        this.injection = vcpu.config().arm64Injection();
    }

    public Arm64Injection injection() {
        return injection;
    }

    public long controlBlock() {
        return controlBlock;
    }

    public long noFaultInstRange() {
        return noFaultInstRange;
    }

    private boolean enabled() {
        return (controlBlock & KVM_ASYNC_PF_ENABLED) != 0;
    }

    private long now() {
        return vcpu.simulator().now();
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
        return Long.compareUnsigned(pc, vbar) >= 0 && Long.compareUnsigned(pc, vbar + noFaultInstRange) < 0;
    }

    /** kvm_arch_can_inject_async_page_not_present: null when the fault may go async, else why it is synchronous. */
    @Override
    public Counter cannotDoAsyncPf() {
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

    @Override
    public int lastToken() {
        return lastToken;
    }

    /**
     * kvm_arch_setup_async_pf. The token uses the x86 format {@code (apf.id++ << 12) | vcpu_id}, skipping 0 when the
     * id wraps (6f3c1fc53d86, {@code host.policy.token_wrap_fix}). RFCv2 itself computed
     * {@code (vcpu->arch.apf.id++ << 16) | vcpu->vcpu_id} with a u16 id starting at 0, which gives vCPU 0 token 0
     * on its first async PF (the token-zero invariant would fire at once); see docs/arm64.md.
     */
    @Override
    public boolean setupAsyncPf(long cr2OrGpa, long gfn, boolean write) {
        if (apf.id << 12 == 0 && vcpu.config().policy().tokenWrapFix()) {
            apf.id = 1;
        }
        int token = (apf.id++ << 12) | vcpu.id;
        lastToken = token;
        if (token == 0) {
            vcpu.monitor().violation(vcpu.id, Invariant.TOKEN_ZERO, "alloc_apf_token wrapped to token 0 (gfn "
                    + FtraceFormat.hex(gfn) + ")");
        }
        for (KvmAsyncPf w : generic.queue()) {
            if (w.token == token) {
                vcpu.monitor().violation(vcpu.id, Invariant.TOKEN_CLASH, "token " + FtraceFormat.hex(
                        Integer.toUnsignedLong(token)) + " already outstanding for gfn " + FtraceFormat.hex(w.gfn));
            }
        }
        KvmAsyncPf work = new KvmAsyncPf(cr2OrGpa, 0x7f0000000000L + (gfn << 12), false, token, gfn, vcpu.cpu.cr3,
                vcpu.cpu.mmuDirect(), false, write ? 2 : 0, now());
        return generic.setup(work);
    }

    /** kvm_arch_async_page_not_present: hash the gfn, reason = PAGE_NOT_PRESENT, inject the notification. */
    @Override
    public boolean asyncPageNotPresent(KvmAsyncPf work) {
        vcpu.trace(new TraceEvent.NotPresent(now(), vcpu.id, work.tokenUnsigned(), work.cr2OrGpa));
        apf.gfns.add(work.gfn);
        if (!putReason(KVM_PV_REASON_PAGE_NOT_PRESENT)) {
            apf.gfns.remove(work.gfn); // "Error %d writing cache"
            return false;
        }
        vcpu.metrics().counters.inc(Counter.NOT_PRESENT_INJECTED);
        vcpu.queueArchEvent(work.token); // kvm_inject_dabt(vcpu, work->arch.token), or the SDEI event
        return true;
    }

    /** kvm_async_pf_write_cache of the reason word; the previous one must have been consumed. */
    private boolean putReason(int reason) {
        long gpa = apf.dataGpa + OFFSET_REASON;
        if (apf.dataGpa < 0 || !ram.valid(gpa)) {
            return false;
        }
        if (ram.read32(gpa) != 0) {
            vcpu.monitor().violation(vcpu.id, Invariant.REASON_OVERWRITTEN, "reason " + reason + " written over "
                    + ram.read32(gpa) + " the guest has not read");
        }
        return ram.write32(gpa, reason);
    }

    /** SDEI mode: the page-ready token word, x86's {@code apf_put_user_ready}. */
    private boolean putToken(int token) {
        long gpa = apf.dataGpa + OFFSET_TOKEN;
        if (apf.dataGpa < 0 || !ram.valid(gpa)) {
            return false;
        }
        if (ram.read32(gpa) != 0) {
            vcpu.monitor().violation(vcpu.id, Invariant.SLOT_OVERWRITTEN, "token slot holds "
                    + FtraceFormat.hex(Integer.toUnsignedLong(ram.read32(gpa))) + " when writing "
                    + FtraceFormat.hex(Integer.toUnsignedLong(token)));
        }
        return ram.write32(gpa, token);
    }

    /** The notification reaches the guest at VM entry: a data abort through VBAR_EL1, or an SDEI event. */
    @Override
    public boolean deliverPendingEvent(long at, long token) {
        long gpa = apf.dataGpa + OFFSET_REASON;
        int reason = apf.dataGpa >= 0 && ram.valid(gpa) ? ram.read32(gpa) : 0;
        boolean sdei = injection == Arm64Injection.SDEI;
        vcpu.trace(new TraceEvent.Arm64Inject(now(), vcpu.id, sdei ? "sdei" : "dabt", token, reason, cpu.pc(),
                cpu.region()));
        if (sdei) {
            vcpu.guest().deliverSdeiEvent(at, token);
        } else {
            vcpu.guest().deliverDataAbort(at, token);
        }
        return true;
    }

    /** kvm_arch_async_page_ready: prefault through the stage-2 fault path (kvm_handle_user_mem_abort, prefault). */
    @Override
    public void asyncPageReady(KvmAsyncPf work) {
        vcpu.prefault(work);
    }

    /** kvm_arch_async_page_present: unhash, reason = PAGE_READY, inject (SDEI mode: token slot and PPI). */
    @Override
    public void asyncPagePresent(KvmAsyncPf work) {
        if (work.wakeupAll) {
            work.token = WAKE_ALL_TOKEN; // "Broadcast wakeup"
        } else {
            apf.gfns.remove(work.gfn);
        }
        vcpu.metrics().counters.inc(Counter.PAGE_READY);
        vcpu.trace(new TraceEvent.Ready(now(), vcpu.id, work.tokenUnsigned(), work.cr2OrGpa));
        if (enabled()) {
            if (injection == Arm64Injection.SDEI) {
                if ((work.wakeupAll || work.notpresentInjected) && putToken(work.token)) {
                    if (apf.pageReadyPending) {
                        vcpu.monitor().violation(vcpu.id, Invariant.PAGE_READY_WHILE_PENDING,
                                "page-ready " + FtraceFormat.hex(work.tokenUnsigned()) + " while one is pending");
                    }
                    apf.pageReadyPending = true;
                    vcpu.metrics().counters.inc(Counter.PAGE_READY_INJECTED);
                    vcpu.apicSetIrq(ppi);
                }
            } else if (putReason(KVM_PV_REASON_PAGE_READY)) {
                vcpu.metrics().counters.inc(Counter.PAGE_READY_INJECTED);
                vcpu.queueArchEvent(work.token); // kvm_inject_dabt(vcpu, work->arch.token)
            }
        }
        vcpu.mpStateRunnable();
    }

    /**
     * RFCv2 is based on 5.7, where {@code async_pf_execute} only wakes a blocked vCPU (there is no
     * {@code kvm_arch_async_page_present_queued}): a running vCPU sees the completion at its next exit.
     */
    @Override
    public void asyncPagePresentQueued() {
    }

    /** kvm_arch_can_inject_async_page_present ("only one signal outstanding at a time"). */
    @Override
    public boolean canDequeueAsyncPagePresent() {
        if (!enabled()) {
            return true;
        }
        if (injection == Arm64Injection.SDEI) {
            long gpa = apf.dataGpa + OFFSET_TOKEN; // the PPI path: apf_pageready_slot_free
            return ram.valid(gpa) && ram.read32(gpa) == 0;
        }
        if (!reasonClear()) {
            return false; // "Pending page fault, which ins't acknowledged by guest"
        }
        if (injection == Arm64Injection.PC_RANGE && pcInNoFaultRange()) {
            vcpu.metrics().counters.inc(Counter.PAGE_READY_DEFERRED_PC_GUARD);
            return false; // "going to clobber ELR_EL1, which might not consued (or saved) by guest yet"
        }
        return true;
    }

    @Override
    public void vcpuWakeUp() {
        vcpu.wakeUp();
    }

    @Override
    public boolean haltOnRepeatedFault() {
        return false; // try_async_pf: kvm_async_pf_hash_find → return true, the guest retries
    }

    @Override
    public boolean checkCompletionOnEntry() {
        return true; // kvm_arch_vcpu_ioctl_run calls kvm_check_async_pf_completion before every entry
    }

    /** kvm_arch_vcpu_runnable: with APF enabled, a reason the guest has not consumed makes the vCPU runnable. */
    @Override
    public boolean runnable() {
        return enabled() && injection != Arm64Injection.SDEI && !reasonClear();
    }

    /** kvm_hvc_call_handler → kvm_async_pf_hypercall. */
    @Override
    public long hypercall(long func, long arg) {
        vcpu.trace(new TraceEvent.HvcArm64(now(), vcpu.id, cpu.pc(), func, 0));
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
            noFaultInstRange = Math.max(noFaultInstRange, val);
            return SMCCC_RET_SUCCESS;
        } else if (op == APF_OP_IRQ && sdei) {
            ppi = (int) (val & 0xff);
            return SMCCC_RET_SUCCESS;
        } else if (op == APF_OP_IRQ_ACK && sdei) {
            if ((val & 1) != 0) {
                apf.pageReadyPending = false;
                vcpu.metrics().counters.inc(Counter.ACKS);
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
            generic.wakeupAll();
            controlBlock = data;
        } else {
            generic.clearCompletionQueue("apf-disable");
            controlBlock = data;
        }
        return SMCCC_RET_SUCCESS;
    }

    /** vCPU reset: back to {@code kvm_arch_vcpu_create}'s values. */
    @Override
    public void reset() {
        controlBlock = 0;
        noFaultInstRange = DEFAULT_NO_FAULT_INST_RANGE;
        ppi = 0;
    }

    /** After migration the VMM registers the control block again (RFCv2 had no migration support of its own). */
    @Override
    public void migrated() {
        long cb = controlBlock;
        controlBlock = 0;
        if ((cb & KVM_ASYNC_PF_ENABLED) != 0) {
            updateEnableReg(cb);
        }
    }
}
