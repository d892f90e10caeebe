package dev.apfsim.check;

import dev.apfsim.perturb.Perturbation;

import java.util.List;

/**
 * The exploration part of a scenario.
 *
 * @param scheduleSeed      seed of the choice point ordering simultaneous events; 0 = FIFO (the default engine)
 * @param perturbations     events injected into this run (the explorer writes them; replays use them as is)
 * @param perturbKinds      what the explorer may inject into this scenario
 * @param maxPerturbations  at most this many per explored run
 * @param jitter            relative jitter of scripted compute steps per explored run (0.1 = ±10 %)
 */
public record CheckSpec(long scheduleSeed, List<Perturbation> perturbations, List<Perturbation.Kind> perturbKinds,
                        int maxPerturbations, double jitter) {

    public static final CheckSpec NONE = new CheckSpec(0, List.of(), List.of(), 0, 0);

    public CheckSpec withRun(long schedule, List<Perturbation> p) {
        return new CheckSpec(schedule, List.copyOf(p), perturbKinds, maxPerturbations, jitter);
    }
}
