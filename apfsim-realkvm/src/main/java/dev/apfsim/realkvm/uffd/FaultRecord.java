package dev.apfsim.realkvm.uffd;

/**
 * One userfaultfd message: when it was read (System.nanoTime), the faulting host address and its guest-physical
 * address, and which thread faulted: a vCPU thread (a synchronous fault, {@code vcpu >= 0}) or another thread,
 * the kworker that runs KVM's async work ({@code vcpu == -1}).
 */
public record FaultRecord(long timeNs, String region, long hva, long gpa, boolean write, int tid, int vcpu) {
    public boolean synchronous() {
        return vcpu >= 0;
    }
}
