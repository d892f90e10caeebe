package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.ApfGfnHash;

import dev.apfsim.arch.x86.ApfMsr;

/** {@code vcpu->arch.apf}: the x86 per-vCPU async PF state. */
public final class X86Apf {
    public boolean halted;
    public final ApfGfnHash gfns = new ApfGfnHash();
    public long msrEnVal;
    public long msrIntVal;
    public int vec;
    /** Token counter; not reset by INIT ({@code kvm_vcpu_reset} leaves it). */
    public int id;
    public boolean sendUserOnly;
    public boolean deliveryAsPfVmexit;
    public boolean pageReadyPending;
    /** GPA of the control area ({@code apf.data} hva cache), valid after a successful enabling write. */
    public long dataGpa = -1;

    /** Pre-5.8 protocol: page-ready as a second #PF, bit 0 alone enables (policy {@code pf-legacy}). */
    public boolean legacy;

    /** {@code kvm_pv_async_pf_enabled}: bits 0 and 3 both set (≤5.7: bit 0 alone). */
    public boolean pvEnabled() {
        long mask = legacy ? ApfMsr.KVM_ASYNC_PF_ENABLED
                : ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT;
        return (msrEnVal & mask) == mask;
    }
}
