package dev.apfsim.kvm;

/** Observes faults for livelock detection: async faults per gfn, and the gfn finally being mapped. */
public interface FaultListener {
    void asyncFault(long now, int vcpu, long gfn, long token);

    void mapped(long gfn);

    FaultListener NONE = new FaultListener() {
        public void asyncFault(long now, int vcpu, long gfn, long token) {
        }

        public void mapped(long gfn) {
        }
    };
}
