package dev.apfsim.arch;

/**
 * The architectural state of one vCPU that every architecture has in some form, shared by the guest model (which
 * changes it by executing) and the host (which reads it to decide, as KVM reads the VMCS, the arm64 vCPU context
 * or the s390 SIE control block). Each architecture extends it with its own registers.
 */
public abstract class CpuState {
    /** Address translation on: x86 CR0.PG, arm64 SCTLR_EL1.M, s390 PSW DAT bit. */
    public boolean paging = true;
    /** Privilege: 0 kernel, 3 user (x86 CPL, arm64 EL1/EL0, s390 supervisor/problem state). */
    public int cpl = 3;
    /** Interrupts unmasked: x86 RFLAGS.IF, arm64 PSTATE.I clear, s390 PSW external-interrupt mask. */
    public boolean interruptFlag = true;
    /** Interrupts blocked for one more instruction after unmasking (x86 STI shadow, {@link #unmaskShadow}). */
    public boolean interruptShadow;
    /**
     * The host asked to exit at the first instruction boundary where interrupts can be taken, because one is pending
     * that the guest cannot take now: x86 interrupt-window exiting ({@code enable_irq_window} sets
     * CPU_BASED_INTR_WINDOW_EXITING, {@code handle_interrupt_window} clears it), s390 the external-interrupt intercept
     * indicator ({@code set_intercept_indicators_ext}), arm64 the pending virtual IRQ the PE takes on unmasking.
     */
    public boolean interruptWindowExiting;
    /** x86 blocking by NMI: an NMI handler runs, until its IRET; the other architectures never set it. */
    public boolean nmiBlocked;
    /** x86 NMI-window exiting ({@code enable_nmi_window}): exit once NMIs are no longer blocked. */
    public boolean nmiWindowExiting;
    /** A nested guest runs (x86 {@code is_guest_mode}); the other architectures never set it here. */
    public boolean guestMode;
    /** Guest page-table root: x86 CR3, arm64 TTBR0_EL1, s390 the primary ASCE. */
    public long pgd = 0x1000;

    /** Interrupts may be taken now ({@code kvm_arch_interrupt_allowed}). */
    public boolean interruptAllowed() {
        return interruptFlag && !interruptShadow;
    }

    /** A window the host asked for is open at this instruction boundary: the guest exits so the host can inject. */
    public boolean windowExitDue() {
        return (interruptWindowExiting && interruptAllowed()) || (nmiWindowExiting && !nmiBlocked);
    }

    /**
     * Unmasking blocks interrupts for one more instruction: x86 STI (SDM "STI": blocking by STI; {@code em_sti}
     * sets {@code KVM_X86_SHADOW_INT_STI}). POPF and IRET set IF without a shadow; arm64 and s390 have none.
     */
    public boolean unmaskShadow() {
        return false;
    }

    /** Values after a CPU reset: translation off, kernel, interrupts masked. */
    public void reset() {
        paging = false;
        cpl = 0;
        interruptFlag = false;
        interruptShadow = false;
        interruptWindowExiting = false; // vmx_vcpu_reset → init_vmcs: execution controls from scratch
        nmiWindowExiting = false;
        nmiBlocked = false;
        guestMode = false;
    }
}
