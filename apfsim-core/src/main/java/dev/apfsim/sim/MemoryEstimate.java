package dev.apfsim.sim;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.workload.TaskSpec;

/**
 * How much Java heap a run of a scenario needs, told before it starts so that a guest too large for the heap
 * is refused with the figure instead of dying half-built. Guest RAM dominates: the host model keeps two bytes per
 * 4 KiB frame ({@code HostMemory}: its state and the CLOCK referenced bit), so a 1 TiB guest needs 512 MiB; the
 * rest is small per vCPU, per task and per device queue slot. The per-item figures are measured (a heap
 * histogram after building and running machines of each size) and rounded up, and the total leaves the
 * collector a quarter of headroom, as a generational collector needs to keep running.
 *
 * @param frames guest frames (4 KiB pages)
 * @param vcpus  vCPUs
 * @param tasks  guest tasks
 * @param bytes  heap one run needs, {@link #BASE} included
 */
public record MemoryEstimate(long frames, int vcpus, int tasks, long bytes) {
    /** What the command line, the scenario and the JVM's own objects take before any machine exists. */
    public static final long BASE = 32L << 20;
    /** {@code HostMemory}: one state byte and one referenced byte per frame. */
    static final long PER_FRAME = 2;
    /** A vCPU: KVM state, LAPIC, the async PF queue and gfn hash, the guest CPU, its metrics. */
    static final long PER_VCPU = 32L << 10;
    /** A guest task: its program, its random stream, its scheduler entity and its metrics. */
    static final long PER_TASK = 4L << 10;
    /** An in-flight request of a backing device, with its waiters. */
    static final long PER_QUEUE_SLOT = 1L << 10;

    public static MemoryEstimate of(Scenario s) {
        long frames = s.memoryBytes() >>> 12;
        int tasks = 0;
        for (TaskSpec t : s.tasks()) {
            tasks += t instanceof TaskSpec.Statistical st ? st.count() : 1;
        }
        long queue = (long) s.swap().queueDepth() + s.remote().queueDepth();
        long run = frames * PER_FRAME + s.vcpus() * PER_VCPU + tasks * PER_TASK + queue * PER_QUEUE_SLOT;
        return new MemoryEstimate(frames, s.vcpus(), tasks, BASE + run + run / 4);
    }

    /** Heap for {@code runs} of it at once (parallel check, compare or sweep runs). */
    public long forRuns(int runs) {
        return BASE + Math.max(1, runs) * (bytes - BASE);
    }

    /**
     * A heap size to suggest for {@code needed} bytes, in the JVM's {@code -Xmx} syntax: rounded up to a
     * multiple of 256 MiB below 4 GiB, of 1 GiB above.
     */
    public static String heapOption(long needed) {
        long mib = (needed + (1L << 20) - 1) >> 20;
        if (mib <= 4096) {
            long m = (mib + 255) / 256 * 256;
            return m % 1024 == 0 ? (m / 1024) + "g" : m + "m";
        }
        return ((mib + 1023) / 1024) + "g";
    }
}
