package dev.apfsim.arch.x86;

import dev.apfsim.arch.GuestCode;

/** The x86 events a guest takes from the host: exceptions through the IDT, nested VM-exits, MSR results. */
public interface X86GuestCode extends GuestCode {
    /** An exception enters the guest ({@code cr2} for #PF). */
    void deliverException(long now, int vector, int errorCode, long cr2);

    /**
     * An async #PF taken while L2 ran, forwarded to L1 as a nested VM-exit ({@code EXCEPTION_NMI}, exit
     * qualification = token): L1 leaves L2 and handles it ({@code kvm_handle_page_fault} with host_apf_flags).
     */
    void deliverNestedPfExit(long now, long token);

    /** An NMI enters the guest ({@code exc_nmi}). */
    void deliverNmi(long now);

    /** Result of the MSR exit the guest last took. */
    void msrResult(boolean gp, long value);
}
