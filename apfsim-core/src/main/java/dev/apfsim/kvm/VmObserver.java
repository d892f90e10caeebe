package dev.apfsim.kvm;

/** Told when the VMM would see the VM stop (KVM_RUN failing). */
public interface VmObserver {
    void vmStopped(long time, int vcpu, String reason, int errno, long gfn);
}
