package dev.apfsim.kvm.x86;

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

    /** {@code kvm_pv_async_pf_enabled}: bits 0 and 3 both set. */
    public boolean pvEnabled() {
        long mask = ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT;
        return (msrEnVal & mask) == mask;
    }
}
