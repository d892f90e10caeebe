package dev.apfsim.arch.arm64;

/**
 * The guest/host ABI of arm64 async PF as Gavin Shan's RFCv2 defines it ({@code include/linux/arm-smccc.h},
 * {@code arch/arm64/include/uapi/asm/kvm_para.h}; never merged, seed thread 002), plus this model's encoding of
 * the later SDEI series' PPI calls. Both the guest and the host include it, as both include the uapi header.
 */
public final class Arm64Apf {
    private Arm64Apf() {
    }

    /** SMCCC return value of an unknown function ({@code SMCCC_RET_NOT_SUPPORTED}). */
    public static final long SMCCC_RET_NOT_SUPPORTED = -1;
    public static final long SMCCC_RET_SUCCESS = 0;
    public static final long SMCCC_RET_NOT_REQUIRED = -2;

    /** {@code ARM_SMCCC_KVM_FUNC_APF}. */
    public static final int ARM_SMCCC_KVM_FUNC_APF = 1;
    /** {@code ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID}: fast call, SMC32, owner vendor hypervisor, function 1. */
    public static final long ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID = 0x86000000L | ARM_SMCCC_KVM_FUNC_APF;

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
}
