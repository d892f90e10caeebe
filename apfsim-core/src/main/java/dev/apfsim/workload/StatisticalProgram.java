package dev.apfsim.workload;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.Program;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.RejectionInversionZipfSampler;

import java.util.ArrayDeque;
import java.util.SplittableRandom;

/**
 * A statistical task: each operation is a compute burst followed by page touches, some of them writes, some in
 * kernel mode or with interrupts off. Draws come from the task's own random stream.
 */
public final class StatisticalProgram implements Program {
    private final TaskSpec.Statistical spec;
    private final SplittableRandom random;
    private final long wsFirstPage;
    private final long wsPages;
    private final RejectionInversionZipfSampler zipf;
    private final ArrayDeque<Action> pending = new ArrayDeque<>(8);
    /**
     * This program's compute and touches, set anew for each operation: an operation is drawn only when the task has
     * moved past every step of the one before (the CPU fetches a step once the previous one is done), and no one
     * else keeps a program's action, so one set serves the whole run.
     */
    private final Action.Compute compute = new Action.Compute(0);
    private final Action.Touch[] touches;
    private long ops;
    private long sequentialNext;

    public StatisticalProgram(TaskSpec.Statistical spec, SplittableRandom random) {
        this.spec = spec;
        this.random = random;
        this.wsFirstPage = spec.wsStart() >>> 12;
        this.wsPages = Math.max(1, spec.wsBytes() >>> 12);
        this.touches = new Action.Touch[Math.max(0, spec.touchesPerOp())];
        for (int i = 0; i < touches.length; i++) {
            touches[i] = new Action.Touch(0, false);
        }
        if (spec.pattern() instanceof Pattern.Zipfian z && spec.touchesPerOp() > 0) {
            UniformRandomProvider rng = random::nextLong;
            int n = (int) Math.min(Integer.MAX_VALUE, wsPages);
            this.zipf = new RejectionInversionZipfSampler(rng, n, z.theta());
        } else {
            this.zipf = null;
        }
    }

    /** The working set is the task's mapping. */
    @Override
    public boolean maps(long gva) {
        long page = gva >>> 12;
        return page >= wsFirstPage && page - wsFirstPage < wsPages;
    }

    @Override
    public Action next() {
        if (pending.isEmpty()) {
            if (spec.maxOps() > 0 && ops >= spec.maxOps()) {
                return Action.EXIT;
            }
            fillOperation();
        }
        return pending.pollFirst();
    }

    private void fillOperation() {
        ops++;
        pending.addLast(compute.reuse(spec.compute().sample(random)));
        for (int i = 0; i < spec.touchesPerOp(); i++) {
            long page = wsFirstPage + pickPage();
            boolean write = random.nextDouble() < spec.writeFraction();
            boolean kernel = random.nextDouble() < spec.kernelFraction();
            boolean irqOff = random.nextDouble() < spec.irqOffFraction();
            if (kernel) {
                pending.addLast(Action.TO_KERNEL);
            }
            if (irqOff) {
                pending.addLast(Action.CLI);
            }
            pending.addLast(touches[i].reuse(page << 12, write));
            if (irqOff) {
                pending.addLast(Action.STI);
            }
            if (kernel) {
                pending.addLast(Action.TO_USER);
            }
        }
        pending.addLast(Action.OP_DONE);
    }

    private long pickPage() {
        return switch (spec.pattern()) {
            case Pattern.Uniform u -> random.nextLong(wsPages);
            case Pattern.Sequential s -> {
                long p = sequentialNext;
                sequentialNext = (sequentialNext + 1) % wsPages;
                yield p;
            }
            case Pattern.Zipfian z -> zipf.sample() - 1;
            case Pattern.HotCold h -> {
                long hot = Math.max(1, (long) (wsPages * h.hotFraction()));
                if (random.nextDouble() < h.hotProbability() || hot >= wsPages) {
                    yield random.nextLong(hot);
                }
                yield hot + random.nextLong(wsPages - hot);
            }
        };
    }
}
