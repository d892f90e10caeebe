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
    }
}
