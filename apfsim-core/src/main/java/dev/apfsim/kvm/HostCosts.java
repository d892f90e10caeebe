package dev.apfsim.kvm;

/**
 * Host-side costs in nanoseconds. Defaults are order-of-magnitude figures for a current x86 server; each is a
 * scenario field (docs/scenarios.md, {@code host.costs}) so users can fit their own machine.
 */
public record HostCosts(
        long vmExitNs,          // hardware VM exit + KVM exit dispatch (~0.5-1 us round trip on recent Intel/AMD)
        long vmEntryNs,         // event injection + VM entry
        long eptViolationNs,    // MMU fault handling before the pfn lookup
        long minorFaultNs,      // host page fault that needs no I/O (zero-fill, page in page cache)
        long asyncSetupNs,      // kvm_setup_async_pf: allocation, hash insert, schedule_work
        long msrNs,             // emulating a WRMSR/RDMSR exit
        long haltWakeupNs,      // waking a blocked vCPU thread (IPI + host scheduler wakeup)
        long workerDispatchNs,  // workqueue latency until a kworker runs async_pf_execute
        long sigbusNs,          // a failing GUP (SIGBUS-mode userfault, no VMA) returning its error
        long pioExitNs) {       // a KVM_EXIT_IO round trip: exit to the VMM, its handling, KVM_RUN again

    /** Costs without a port I/O figure (the default one is used). */
    public HostCosts(long vmExitNs, long vmEntryNs, long eptViolationNs, long minorFaultNs, long asyncSetupNs,
                     long msrNs, long haltWakeupNs, long workerDispatchNs, long sigbusNs) {
        this(vmExitNs, vmEntryNs, eptViolationNs, minorFaultNs, asyncSetupNs, msrNs, haltWakeupNs, workerDispatchNs,
                sigbusNs, DEFAULT_PIO_EXIT_NS);
    }

    /** A KVM_EXIT_IO round trip through a userspace VMM (ioctl return, dispatch, ioctl): a few µs. */
    public static final long DEFAULT_PIO_EXIT_NS = 4_000;

    public static HostCosts defaults() {
        return new HostCosts(700, 500, 1_000, 2_000, 1_000, 300, 10_000, 20_000, 5_000, DEFAULT_PIO_EXIT_NS);
    }
}
