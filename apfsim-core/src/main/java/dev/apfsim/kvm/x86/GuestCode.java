package dev.apfsim.kvm.x86;

/** What runs inside one vCPU, as the host sees it: it runs until an exit and takes injected events. */
public interface GuestCode {
    /** Runs the guest from {@code now}; inline execution must not pass {@code horizon}. */
    GuestExit run(long now, long horizon);

    /** The host kicked the vCPU out at {@code now}: account the partial compute. */
    void preempt(long now);

    /** An exception enters the guest ({@code cr2} for #PF). */
    void deliverException(long now, int vector, int errorCode, long cr2);

    /**
     * An async #PF taken while L2 ran, forwarded to L1 as a nested VM-exit ({@code EXCEPTION_NMI}, exit
     * qualification = token): L1 leaves L2 and handles it ({@code kvm_handle_page_fault} with host_apf_flags).
     */
    void deliverNestedPfExit(long now, long token);

    /** A LAPIC interrupt enters the guest. */
    void deliverInterrupt(long now, int vector);

    /** Result of the MSR exit the guest last took. */
    void msrResult(boolean gp, long value);

    /** INIT/RESET reached the guest. */
    void reset(long now);

    /**
     * arm64: a data abort injected by the host ({@code kvm_inject_dabt}) enters the guest through VBAR_EL1, with the
     * token as fault address (FAR_EL1); ELR_EL1/SPSR_EL1 take the interrupted PC and PSTATE.
     */
    void deliverDataAbort(long now, long far);

    /** arm64: an SDEI event enters the guest at its registered entry point (not through VBAR_EL1). */
    void deliverSdeiEvent(long now, long arg);

    /** Result (x0) of the hypercall the guest last made. */
    default void hvcResult(long x0) {
    }
}
