package dev.apfsim.kvm.x86;

/**
 * Architectural state of one x86 vCPU, shared by the guest model (which changes it by executing) and the host
 * (which reads it to decide, as KVM reads the VMCS). One place that nested or other vCPU kinds extend.
 */
public class X86CpuState {
    /** CR0.PG ({@code is_paging}). */
    public boolean paging = true;
    /** Current privilege level (0 kernel, 3 user). */
    public int cpl = 3;
    /** RFLAGS.IF. */
    public boolean interruptFlag = true;
    /** STI / MOV SS interrupt shadow: interrupts blocked for one more instruction. */
    public boolean interruptShadow;
    /** L2 is running ({@code is_guest_mode}). */
    public boolean guestMode;
    /** The host uses TDP (EPT/NPT) for this VM; false means shadow paging. */
    public boolean tdp = true;
    /** Guest page-table root ({@code kvm_mmu_get_guest_pgd}). */
    public long cr3 = 0x1000;
    /** An exception is pending or injected-but-interrupted ({@code kvm_is_exception_pending}). */
    public boolean exceptionPending;
    /** VM exit during event delivery ({@code kvm_event_needs_reinjection}). */
    public boolean eventNeedsReinjection;

    /**
     * {@code mmu->root_role.direct}: TDP for L1, or shadow paging of a guest with paging off; false for shadow
     * paging of a paging guest and for L2 (shadow EPT/NPT).
     */
    public boolean mmuDirect() {
        if (guestMode) {
            return false;
        }
        return tdp || !paging;
    }

    /** {@code kvm_arch_interrupt_allowed}: IF=1 and no interrupt shadow. */
    public boolean interruptAllowed() {
        return interruptFlag && !interruptShadow;
    }

    /** Values after INIT/RESET: real mode, interrupts off. */
    public void reset() {
        paging = false;
        cpl = 0;
        interruptFlag = false;
        interruptShadow = false;
        guestMode = false;
        exceptionPending = false;
        eventNeedsReinjection = false;
    }
}
