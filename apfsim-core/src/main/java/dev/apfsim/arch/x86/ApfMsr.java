package dev.apfsim.arch.x86;

/** The async PF MSRs and their bits ({@code arch/x86/include/uapi/asm/kvm_para.h}). */
public final class ApfMsr {
    private ApfMsr() {
    }

    public static final int MSR_KVM_ASYNC_PF_EN = 0x4b564d02;
    public static final int MSR_KVM_ASYNC_PF_INT = 0x4b564d06;
    public static final int MSR_KVM_ASYNC_PF_ACK = 0x4b564d07;

    /** The other KVM PV MSRs the guest's CPU hotplug code writes ({@code kvm_guest_cpu_offline}). */
    public static final int MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;
    public static final int MSR_KVM_STEAL_TIME = 0x4b564d03;
    public static final int MSR_KVM_PV_EOI_EN = 0x4b564d04;
    public static final int MSR_KVM_MIGRATION_CONTROL = 0x4b564d08;

    public static final long KVM_ASYNC_PF_ENABLED = 1L;
    public static final long KVM_ASYNC_PF_SEND_ALWAYS = 1L << 1;
    public static final long KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT = 1L << 2;
    public static final long KVM_ASYNC_PF_DELIVERY_AS_INT = 1L << 3;
    public static final long RESERVED_EN_BITS = 0x30;

    public static final int KVM_PV_REASON_PAGE_NOT_PRESENT = 1;
    public static final int KVM_PV_REASON_PAGE_READY = 2;

    /** Token value of a wake-all page-ready. */
    public static final int WAKE_ALL_TOKEN = 0xffffffff;

    /** Offsets in {@code struct kvm_vcpu_pv_apf_data}. */
    public static final int OFFSET_FLAGS = 0;
    public static final int OFFSET_TOKEN = 4;
    /** Seed 004 patch 2 (never merged): error flag of a page-ready event, bit 0. */
    public static final int OFFSET_PAGEREADY_FLAGS = 8;

    public static final int PF_VECTOR = 14;
    public static final int HYPERVISOR_CALLBACK_VECTOR = 0xf3;
    public static final int LOCAL_TIMER_VECTOR = 0xec;
    public static final int RESCHEDULE_VECTOR = 0xfd;
}
