package dev.apfsim.arch.arm64;

import dev.apfsim.arch.GuestCode;

/** The arm64 events a guest takes from the host: injected data aborts, SDEI events, HVC results. */
public interface Arm64GuestCode extends GuestCode {
    /**
     * A data abort injected by the host ({@code kvm_inject_dabt}) enters the guest through VBAR_EL1, with the token
     * as fault address (FAR_EL1); ELR_EL1/SPSR_EL1 take the interrupted PC and PSTATE.
     */
    void deliverDataAbort(long now, long far);

    /** An SDEI event enters the guest at its registered entry point (not through VBAR_EL1). */
    void deliverSdeiEvent(long now, long arg);

    /** Result (x0) of the hypercall the guest last made. */
    void hvcResult(long x0);
}
