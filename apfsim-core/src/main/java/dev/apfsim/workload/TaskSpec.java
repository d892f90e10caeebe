package dev.apfsim.workload;

import dev.apfsim.guest.Action;
import dev.apfsim.memory.LatencyDistribution;

import java.util.List;

/** One kind of guest task in a scenario. */
public sealed interface TaskSpec {
    String name();

    int cpu();

    /**
     * Compute bursts between page touches.
     *
     * @param count          how many identical tasks (named name-0, name-1, ...; spread over CPUs from {@code cpu})
     * @param compute        burst length per operation
     * @param touchesPerOp   pages touched per operation (0 = CPU-bound)
     * @param wsStart        first guest physical address of the working set
     * @param wsBytes        working-set size
     * @param writeFraction  touches that are writes
     * @param kernelFraction touches made in kernel mode (e.g. copy_from_user in a system call)
     * @param irqOffFraction touches made with interrupts disabled
     * @param maxOps         stop after this many operations (0 = run until the end)
     */
    record Statistical(String name, int cpu, int count, LatencyDistribution compute, int touchesPerOp, long wsStart,
                       long wsBytes, Pattern pattern, double writeFraction, double kernelFraction,
                       double irqOffFraction, long maxOps) implements TaskSpec {
    }

    /**
     * An explicit list of steps (kvm-unit-tests style); each completed touch counts as one operation. Its first
     * step runs at CPL0 if {@code startKernel}, else CPL3, with IF = {@code startIf}.
     */
    record Scripted(String name, int cpu, List<Action> steps, boolean startKernel, boolean startIf)
            implements TaskSpec {
        /** A task that starts in user mode with interrupts enabled. */
        public Scripted(String name, int cpu, List<Action> steps) {
            this(name, cpu, steps, false, true);
        }
    }
}
