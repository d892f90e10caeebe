package dev.apfsim.arch.x86;

import dev.apfsim.arch.CpuState;

/**
 * Architectural state of one x86 vCPU: the generic part ({@link CpuState}: CR0.PG, CPL, RFLAGS.IF, the STI shadow,
 * L2 mode, CR3 as {@code pgd}) and what only x86 has.
 */
public class X86CpuState extends CpuState {
    /** The host uses TDP (EPT/NPT) for this VM; false means shadow paging, which intercepts CR3 loads. */
    public boolean tdp = true;
    /** An exception is pending or injected-but-interrupted ({@code kvm_is_exception_pending}). */
    public boolean exceptionPending;
    /** VM exit during event delivery ({@code kvm_event_needs_reinjection}). */
    public boolean eventNeedsReinjection;
    /** CR0.PE; CR0.PG implies it ({@link #protectedMode()}). */
    public boolean pe = true;
    /** L1's EPT pointer for L2 (vmcs12 EPT_POINTER): the guest pgd of L2's MMU under nested EPT. */
    public long eptp12 = 0x8000_0000L;
    /** L1 runs L2 with PIN_BASED_EXT_INTR_MASK ({@code nested_exit_on_intr}), as KVM and Linux L1s do. */
    public boolean l1ExitsOnIntr = true;

    /** {@code is_protmode}: CR0.PE (set whenever CR0.PG is). */
    public boolean protectedMode() {
        return pe || paging;
    }

    /**
     * {@code kvm_mmu_get_guest_pgd(vcpu, vcpu->arch.mmu)}: the root the current MMU shadows: EPTP12 for L2 under
     * nested EPT ({@code nested_ept_get_eptp}), else the guest CR3.
     */
    public long guestPgd() {
        return guestMode && tdp ? eptp12 : pgd;
    }

    /**
     * {@code vmx_interrupt_blocked}: in guest mode with L1 intercepting external interrupts an interrupt is never
     * blocked (it becomes a VM exit to L1), whatever L2's IF says.
     */
    public boolean interruptBlocked() {
        if (guestMode && l1ExitsOnIntr) {
            return false;
        }
        return !interruptAllowed();
    }

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

    @Override
    public boolean unmaskShadow() {
        return true; // STI
    }

    /** Values after INIT/RESET: real mode, interrupts off. */
    @Override
    public void reset() {
        super.reset();
        exceptionPending = false;
        eventNeedsReinjection = false;
        pe = false; // real mode
    }
}
