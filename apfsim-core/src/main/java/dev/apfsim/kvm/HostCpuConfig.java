package dev.apfsim.kvm;

/**
 * The host CPUs the VM's threads run on (scenario {@code host.cpus}, {@code host.pinning}, {@code host.sched_slice}).
 *
 * @param cpus    host CPUs for this VM's threads; 0 = one per vCPU (no overcommit)
 * @param pinning where vCPU threads run: pinned to their CPU, or floating (woken on an idle CPU)
 * @param sliceNs how long a vCPU thread runs before another runnable vCPU thread on its CPU gets a turn
 *                (EEVDF {@code sysctl_sched_base_slice} 0.75 ms scaled by {@code 1 + ilog2(min(ncpus, 8))})
 * @param pins    {@code host.pin}: vCPU i's CPU is {@code pins[i]} (as {@code taskset -p} on each vCPU thread);
 *                empty: CPU {@code vcpu % cpus}
 */
public record HostCpuConfig(int cpus, Pinning pinning, long sliceNs, java.util.List<Integer> pins) {
    /** Where vCPU threads may run. */
    public enum Pinning { PINNED, FLOATING }

    public HostCpuConfig {
        java.util.Objects.requireNonNull(pinning, "pinning");
        pins = java.util.List.copyOf(pins);
    }

    /** One host CPU per vCPU, threads not pinned, a 3 ms slice. */
    public static HostCpuConfig defaults() {
        return new HostCpuConfig(0, Pinning.FLOATING, 3_000_000, java.util.List.of());
    }

    /** The number of host CPUs for a VM of {@code vcpus}. */
    public int count(int vcpus) {
        return cpus > 0 ? cpus : vcpus;
    }

    /** The CPU vCPU {@code vcpu}'s thread is pinned to, or starts on when floating. */
    public int home(int vcpu, int count) {
        return vcpu < pins.size() ? pins.get(vcpu) : vcpu % count;
    }
}
