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
    /** Interrupts blocked for one more instruction after unmasking (x86 STI shadow; the model's other archs too). */
    public boolean interruptShadow;
    /** A nested guest runs (x86 {@code is_guest_mode}); the other architectures never set it here. */
    public boolean guestMode;
    /** Guest page-table root: x86 CR3, arm64 TTBR0_EL1, s390 the primary ASCE. */
    public long pgd = 0x1000;

    /** Interrupts may be taken now ({@code kvm_arch_interrupt_allowed}). */
    public boolean interruptAllowed() {
        return interruptFlag && !interruptShadow;
    }

    /** Values after a CPU reset: translation off, kernel, interrupts masked. */
    public void reset() {
        paging = false;
        cpl = 0;
        interruptFlag = false;
        interruptShadow = false;
        guestMode = false;
    }
}
