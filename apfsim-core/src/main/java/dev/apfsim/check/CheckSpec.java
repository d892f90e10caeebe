package dev.apfsim.check;

import dev.apfsim.engine.Choices;
import dev.apfsim.perturb.Perturbation;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The exploration part of a scenario.
 *
 * @param scheduleSeed      seed of a random order of simultaneous events; 0 = FIFO (the default engine)
 * @param perturbations     events injected into this run (the explorer writes them; replays use them as is)
 * @param perturbKinds      what the explorer may inject into this scenario
 * @param maxPerturbations  at most this many per explored run
 * @param jitter            relative jitter of scripted compute steps per explored run (0.1 = ±10 %)
 * @param choices           decisions at the model's choice points, replayed in order ({@link ChoiceSequence})
 * @param costLevels        per-run scaling of costs: level l multiplies the cost by 10^(l/6)
 * @param fairness          which cycles with no progress count as a livelock
 * @param maxEvents         a checked run that would take more engine events than this (queued ones and the
 *                          continuations run inline) is stopped and reported as {@code watchdog}: a bound that,
 *                          unlike wall time, does not depend on the machine
 */
public record CheckSpec(long scheduleSeed, List<Perturbation> perturbations, List<Perturbation.Kind> perturbKinds,
                        int maxPerturbations, double jitter, ChoiceSequence choices,
                        Map<Choices.Cost, Integer> costLevels, Fairness fairness, long maxEvents) {

    /** 55 times the largest built-in run (overcommit-ssd: 3.6 million), a few minutes of one core. */
    public static final long DEFAULT_MAX_EVENTS = 200_000_000;

    public static final CheckSpec NONE = new CheckSpec(0, List.of(), List.of(), 0, 0, ChoiceSequence.NONE, Map.of(),
            Fairness.WEAK, DEFAULT_MAX_EVENTS);

    public CheckSpec {
        if (maxEvents < 1) {
            throw new IllegalArgumentException("max_events must be at least 1: " + maxEvents);
        }
        EnumMap<Choices.Cost, Integer> levels = new EnumMap<>(Choices.Cost.class);
        costLevels.forEach((c, l) -> {
            if (l != 0) {
                levels.put(c, l);
            }
        });
        costLevels = java.util.Collections.unmodifiableMap(levels);
    }

    public CheckSpec(long scheduleSeed, List<Perturbation> perturbations, List<Perturbation.Kind> perturbKinds,
                     int maxPerturbations, double jitter) {
        this(scheduleSeed, perturbations, perturbKinds, maxPerturbations, jitter, ChoiceSequence.NONE, Map.of(),
                Fairness.WEAK, DEFAULT_MAX_EVENTS);
    }

    public CheckSpec withRun(long schedule, List<Perturbation> p) {
        return new CheckSpec(schedule, List.copyOf(p), perturbKinds, maxPerturbations, jitter, choices, costLevels,
                fairness, maxEvents);
    }

    public CheckSpec withChoices(ChoiceSequence c, Map<Choices.Cost, Integer> levels) {
        return new CheckSpec(scheduleSeed, perturbations, perturbKinds, maxPerturbations, jitter, c, levels, fairness,
                maxEvents);
    }

    public CheckSpec withFairness(Fairness f) {
        return new CheckSpec(scheduleSeed, perturbations, perturbKinds, maxPerturbations, jitter, choices, costLevels,
                f, maxEvents);
    }

    public CheckSpec withMaxEvents(long n) {
        return new CheckSpec(scheduleSeed, perturbations, perturbKinds, maxPerturbations, jitter, choices, costLevels,
                fairness, n);
    }

    /** True when a run of this spec is steered by the checker (anything but the scenario's own values). */
    public boolean controlled() {
        return scheduleSeed != 0 || choices.length() > 0 || !costLevels.isEmpty();
    }
}
