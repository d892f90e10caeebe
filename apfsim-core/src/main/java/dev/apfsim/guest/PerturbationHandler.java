package dev.apfsim.guest;

import dev.apfsim.perturb.Perturbation;
import dev.apfsim.arch.InterruptController;
import dev.apfsim.arch.CpuState;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest side of the perturbations {@code apfsim check} injects: the explorer queues one and raises
 * {@link Perturbation#VECTOR}; its handler then splices the perturbation's steps (an IRQ-off stretch, a LAPIC or
 * CR0.PG toggle, an APF re-enable, a reset, an L2 excursion, ...) into the interrupted kernel code.
 */
final class PerturbationHandler {
    private final int id;
    private final CpuState cpu;
    private final InterruptController lapic;
    private final HandlerFrames frames;
    private final ArchEntry entry;
    private final ArrayDeque<Perturbation> queue = new ArrayDeque<>();

    PerturbationHandler(int id, CpuState cpu, InterruptController lapic, HandlerFrames frames,
                        ArchEntry entry) {
        this.id = id;
        this.cpu = cpu;
        this.lapic = lapic;
        this.frames = frames;
        this.entry = entry;
    }

    /** Queues a perturbation; its IPI (vector 0xf1) makes this CPU run it. */
    void queue(Perturbation p) {
        queue.addLast(p);
    }

    /** The handler of {@link Perturbation#VECTOR}: EOI, then the next queued perturbation's steps. */
    void run(long now) {
        lapic.eoi();
        Perturbation p = queue.pollFirst();
        if (p == null) {
            return;
        }
        Frame f = frames.top();
        Action wait = new Action.Compute(Math.max(1, p.durationNs()));
        List<Action> steps = new ArrayList<>();
        switch (p.kind()) {
            case IRQ_OFF -> steps.add(wait);
            case LAPIC_OFF -> {
                steps.add(new Action.SetLapicEnabled(false));
                steps.add(wait);
                steps.add(new Action.SetLapicEnabled(true));
            }
            case PG_TOGGLE -> {
                steps.add(new Action.SetPaging(false));
                steps.add(wait);
                steps.add(new Action.SetPaging(true));
            }
            case MSR_REENABLE -> {
                if (entry.apfEnabled()) {
                    steps.addAll(List.of(entry.offlineActions()));
                    steps.add(wait);
                    steps.addAll(List.of(entry.enableActions()));
                }
            }
            case RESET -> {
                if (entry.apfEnabled()) {
                    steps.addAll(List.of(entry.offlineActions()));
                }
                steps.add(Action.INIT);
            }
            case REGULAR_PF -> steps.add(new Action.RegularFault(0x1000L * (1 + id)));
            case CPU_OFFLINE -> steps.add(Action.CPU_OFFLINE);
            case CPU_ONLINE -> steps.add(Action.CPU_ONLINE);
            case NESTED -> {
                long orig = cpu.pgd; // L2 runs on its own page tables
                steps.add(new Action.SetCr3(orig ^ 0x200000));
                steps.add(new Action.SetGuestMode(true));
                steps.add(wait);
                steps.add(new Action.SetGuestMode(false));
                steps.add(new Action.SetCr3(orig));
            }
            case MIGRATE, IRQ_STORM, NMI -> {
                // VMM/host actions: Machine handles them and never queues them here
            }
            case CR3_SWITCH -> {
                long orig = cpu.pgd;
                steps.add(new Action.SetCr3(orig ^ 0x100000));
                steps.add(wait);
                steps.add(new Action.SetCr3(orig));
            }
        }
        // each step goes right after the handler's current one, so insert them last to first
        for (int i = steps.size() - 1; i >= 0; i--) {
            f.then(steps.get(i));
        }
    }
}
