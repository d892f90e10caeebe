package dev.apfsim.guest;

import dev.apfsim.arch.arm64.Arm64Apf;
import dev.apfsim.arch.s390.S390Pfault;
import dev.apfsim.arch.x86.ApfMsr;

/**
 * What one guest CPU has registered with the host's async PF, and the calls that do it: the per-CPU
 * {@code apf_reason} area, {@code async_pf_enabled} and the page-ready vector. On x86 they are the
 * {@code MSR_KVM_ASYNC_PF_*} writes of {@code kvm_guest_cpu_init}; on arm64 (RFCv2, seed thread 002) SMCCC calls;
 * on s390 the DIAG 0x258 of {@code pfault_init} / {@code pfault_fini}, whose area is the CPU's lowcore token word.
 * The state is what the guest believes from its own writes, not what the host accepted.
 */
final class ApfRegistration {
    private final GuestKernel kernel;
    private final GuestCpu.Platform platform;
    /** An arm64 guest: SMCCC calls instead of MSRs. */
    private final boolean arm64;
    /** arm64 with the SDEI-based design: a PPI for page-ready instead of RFCv2's no-fault range. */
    private final boolean sdei;
    /** An s390 guest: DIAG 0x258 pfault ({@code arch/s390/mm/pfault.c}). */
    private final boolean s390;
    private long lastDiagResult = -1;

    private boolean enabled;
    private long areaGpa;
    private int vectorInUse = -1;
    private long lastHvcResult;

    ApfRegistration(GuestKernel kernel, int id, GuestCpu.Platform platform, boolean arm64, boolean s390) {
        this.s390 = s390;
        this.kernel = kernel;
        this.platform = platform;
        this.arm64 = arm64;
        this.sdei = arm64 && platform.sdeiAsyncPf();
        // arm64: struct kvm_vcpu_pv_apf_data is 68 bytes, so the 64-byte aligned per-CPU areas are 128 apart
        this.areaGpa = GuestKernel.APF_AREA_BASE + (arm64 ? 128L : 64L) * id;
    }

    /** {@code async_pf_enabled} on this CPU. */
    boolean enabled() {
        return enabled;
    }

    /** GPA of this CPU's {@code apf_reason} area. */
    long areaGpa() {
        return areaGpa;
    }

    /** INIT: per-CPU state is lost; the kernel must enable again. */
    void reset() {
        enabled = false;
    }

    /** {@code vector} is the page-ready notification: the configured one, or the one this CPU registered. */
    boolean isPageReadyVector(int vector) {
        return vector == kernel.config.apfVector() || (enabled && vector == vectorInUse);
    }

    /** {@code kvm_read_and_reset_apf_flags}: 0 when async PF is off on this CPU. */
    int readAndResetFlags() {
        if (!enabled || s390) {
            return 0; // s390 has no reason word: its program-check handler never asks the host
        }
        int flags = kernel.ram.read32(areaGpa + ApfMsr.OFFSET_FLAGS);
        kernel.ram.write32(areaGpa + ApfMsr.OFFSET_FLAGS, 0);
        return flags;
    }

    /** arm64: the reason word as it stands, read without resetting it (for a report). */
    int arm64Reason() {
        return kernel.ram.read32(areaGpa + Arm64Apf.OFFSET_REASON);
    }

    // ---- the calls -------------------------------------------------------------------------------------

    /** The calls of {@code kvm_guest_cpu_init} for this guest kind (none if it never enables): INT first, then EN. */
    Action[] enableActions() {
        GuestConfig g = kernel.config;
        if (s390) {
            return g.apf() == GuestConfig.ApfMode.NEVER ? new Action[0] : s390PfaultInit(); // "nopfault"
        }
        if (arm64) {
            return switch (g.apf()) {
                case NEVER -> new Action[0];
                case LINUX, LINUX_LEGACY -> arm64EnableActions(Arm64Apf.KVM_ASYNC_PF_ENABLED);
                case CUSTOM -> arm64EnableActions(g.enBits() & (Arm64Apf.KVM_ASYNC_PF_ENABLED
                        | Arm64Apf.KVM_ASYNC_PF_SEND_ALWAYS));
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

    /** The RFCv2 guest's enabling calls (SDEI design: the PPI instead of the no-fault range). */
    private Action[] arm64EnableActions(long flags) {
        long fn = Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID;
        Action first = sdei ? new Action.Hvc(fn, Arm64Apf.APF_OP_IRQ | kernel.config.apfVector())
                : new Action.Hvc(fn, Arm64Apf.APF_OP_NO_FAULT_RANGE | Arm64Apf.DEFAULT_NO_FAULT_INST_RANGE);
        return new Action[]{first, new Action.Hvc(fn, Arm64Apf.APF_OP_ENABLE | areaGpa | flags),
                new Action.Op((c, t) -> {
                    if (lastHvcResult == Arm64Apf.SMCCC_RET_SUCCESS) {
                        kernel.ram.write32(areaGpa + Arm64Apf.OFFSET_ENABLED, 1); // apf_data.enabled = 1
                    }
                })};
    }

    /**
     * s390 {@code pfault_irq_init}: {@code lc->lpp = LPP_MAGIC}, {@code __pfault_init} (DIAG 0x258 with
     * {@code pfault_init_refbk}: token address = this CPU's {@code __LC_LPP}, select = compare = problem state),
     * then, if it returned 0, {@code irq_subclass_register(IRQ_SUBCLASS_SERVICE_SIGNAL)} (CR0 bit 9).
     */
    private Action[] s390PfaultInit() {
        long refbk = areaGpa + 16;
        return new Action[]{new Action.Op((c, t) -> {
            kernel.ram.write32(areaGpa, (int) S390Pfault.LPP_MAGIC); // lowcore.lpp; current_pid follows
            writeRefbk(refbk, S390Pfault.SUBCODE_TOKEN, areaGpa, S390Pfault.PSW_MASK_PSTATE,
                    S390Pfault.PSW_MASK_PSTATE, S390Pfault.PF_RES_FIELD);
        }), new Action.Diag(S390Pfault.DIAG_PAGE_REF, refbk), new Action.Op((c, t) -> {
            if (lastDiagResult == S390Pfault.RC_OK) {
                enabled = true;
                c.s390ServiceSignal(true);
            }
        })};
    }

    /** {@code struct pfault_refbk}, laid out big-endian in guest real storage. */
    private void writeRefbk(long at, int subcode, long tokenAddr, long select, long compare, long zarch) {
        kernel.ram.write32(at + S390Pfault.PARM_CODE, (S390Pfault.DIAG_PAGE_REF << 16) | subcode);
        kernel.ram.write32(at + S390Pfault.PARM_LEN, (5 << 16) | 2); // refdwlen 5, refversn 2
        kernel.ram.write64(at + S390Pfault.PARM_TOKEN_ADDR, tokenAddr);
        kernel.ram.write64(at + S390Pfault.PARM_SELECT, select);
        kernel.ram.write64(at + S390Pfault.PARM_COMPARE, compare);
        kernel.ram.write64(at + S390Pfault.PARM_ZARCH, zarch);
    }

    /** Ry of the DIAGNOSE the guest made last. */
    void diagResult(long ry) {
        lastDiagResult = ry;
    }

    /** {@code kvm_pv_disable_apf}: EN = 0 (arm64: the enable call without the enabled bit; s390: __pfault_fini). */
    Action[] disableActions() {
        if (s390) {
            long refbk = areaGpa + 16;
            return new Action[]{new Action.Op((c, t) -> {
                writeRefbk(refbk, S390Pfault.SUBCODE_CANCEL, 0, 0, 0, 0);
                enabled = false;
            }), new Action.Diag(S390Pfault.DIAG_PAGE_REF, refbk)};
        }
        return new Action[]{arm64 ? new Action.Hvc(Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID,
                Arm64Apf.APF_OP_ENABLE) : new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, 0)};
    }

    /** The page-ready ACK that ends {@code sysvec_kvm_asyncpf_interrupt}: the host may send the next one. */
    Action ackAction() {
        return arm64
                ? new Action.Hvc(Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, Arm64Apf.APF_OP_IRQ_ACK | 1)
                : new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_ACK, 1);
    }

    // ---- the guest's view of its own calls ---------------------------------------------------------------

    /** An APF MSR write is leaving the CPU: which area it registers, whether it enables, which vector. */
    void noteMsrWrite(Action.WrMsr w) {
        if (w.msr() == ApfMsr.MSR_KVM_ASYNC_PF_EN) {
            enabled = (w.value() & ApfMsr.KVM_ASYNC_PF_ENABLED) != 0;
            areaGpa = w.value() & ~0x3fL;
        } else if (w.msr() == ApfMsr.MSR_KVM_ASYNC_PF_INT) {
            vectorInUse = (int) (w.value() & 0xff);
        }
    }

    /** arm64: an async PF SMCCC call is leaving the CPU (which area, whether it enables, which PPI). */
    void noteHvc(Action.Hvc h) {
        if (h.func() != Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID) {
            return;
        }
        long op = h.arg() & Arm64Apf.APF_OP_MASK;
        long val = h.arg() & ~Arm64Apf.APF_OP_MASK;
        if (op == Arm64Apf.APF_OP_ENABLE) {
            enabled = (val & Arm64Apf.KVM_ASYNC_PF_ENABLED) != 0;
            if (enabled) {
                areaGpa = val & ~0x3fL;
            }
        } else if (op == Arm64Apf.APF_OP_IRQ) {
            vectorInUse = (int) (val & 0xff);
        }
    }

    /** x0 of the hypercall the guest made last (the enable call's result decides {@code apf_data.enabled}). */
    void hvcResult(long x0) {
        lastHvcResult = x0;
    }
}
