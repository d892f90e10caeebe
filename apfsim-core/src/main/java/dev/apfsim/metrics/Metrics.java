package dev.apfsim.metrics;

/** All measurements of one run. */
public final class Metrics {
    public final Counters counters = new Counters();
    /** Async PF set up to its page-ready being consumed (kvm_arch_async_page_present). */
    public final Latency faultToReady = new Latency();
    /** Guest task asleep in kvm_async_pf_task_wait_schedule until woken. */
    public final Latency taskWait = new Latency();
    /** Synchronous faults: the vCPU thread blocked in GUP. */
    public final Latency syncFault = new Latency();
    public final VcpuTime[] vcpuTime;
    /** Time async PF work items spent in workers, from dispatch to GUP completion (waiting for I/O included). */
    public long workerNs;
    /** Seed 004: when a worker's GUP first failed (-1: never), and worker time spent on failed GUPs. */
    public long firstWorkerErrorNs = -1;
    public long lastWorkerErrorNs = -1;
    public long failedWorkerNs;
    /** When the failure became visible as a killed task (-1: never). */
    public long firstTaskKilledNs = -1;

    public Metrics(int vcpus) {
        vcpuTime = new VcpuTime[vcpus];
        for (int i = 0; i < vcpus; i++) {
            vcpuTime[i] = new VcpuTime();
        }
    }
}
