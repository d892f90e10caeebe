package dev.apfsim.kvm;

/**
 * The host CPUs the VM's threads run on (scenario {@code host.cpus}, {@code host.pinning}, {@code host.sched_slice}).
 *
 * @param cpus    host CPUs for this VM's threads; 0 = one per vCPU (no overcommit)
 * @param pinning where vCPU threads run: pinned to CPU {@code vcpu % cpus}, or floating (woken on an idle CPU)
 * @param sliceNs how long a vCPU thread runs before another runnable vCPU thread on its CPU gets a turn
 *                (EEVDF {@code sysctl_sched_base_slice} 0.75 ms scaled by {@code 1 + ilog2(min(ncpus, 8))})
 */
public record HostCpuConfig(int cpus, Pinning pinning, long sliceNs) {
    /** Where vCPU threads may run. */
    public enum Pinning { PINNED, FLOATING }

    public HostCpuConfig {
        java.util.Objects.requireNonNull(pinning, "pinning");
    }

    /** One host CPU per vCPU, threads not pinned, a 3 ms slice. */
    public static HostCpuConfig defaults() {
        return new HostCpuConfig(0, Pinning.FLOATING, 3_000_000);
    }

    /** The number of host CPUs for a VM of {@code vcpus}. */
    public int count(int vcpus) {
        return cpus > 0 ? cpus : vcpus;
    }
}
