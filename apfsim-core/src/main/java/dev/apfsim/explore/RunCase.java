package dev.apfsim.explore;

import dev.apfsim.check.ChoiceSequence;
import dev.apfsim.check.ControlledChoices;
import dev.apfsim.check.Invariant;
import dev.apfsim.check.Violation;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.LassoDetector;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.ProtocolEvents;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One checked run: the scenario (its {@code check} section holding the decisions taken, so it replays), stopped at
 * its first violation, with the full trace and the protocol events kept if asked, and a lasso if the run found one.
 */
public record RunCase(Scenario scenario, Violation violation, RunResult result, List<String> trace,
                      List<String> protocol, LassoDetector.Lasso lasso, int choiceSteps, int protocolEvents) {

    /** Wall time a checked run may take before the watchdog stops it (a hanging model cannot hang check). */
    static final long WATCHDOG_SECONDS = 60;
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "apfsim-check-watchdog");
                t.setDaemon(true);
                return t;
            });

    /** Replays {@code s} as it stands (its recorded choices, or the scenario's own values). */
    public static RunCase run(Scenario s, boolean keepTrace) {
        return run(s, null, keepTrace, null, null);
    }

    /**
     * Runs {@code s} with {@code choices} deciding (null: as recorded in {@code s}); the returned scenario records
     * the decisions taken. {@code states} collects the abstract states seen; {@code setup} may observe the machine.
     */
    static RunCase run(Scenario s, ControlledChoices choices, boolean keepTrace, Set<Long> states,
                       java.util.function.Consumer<Machine> setup) {
        if (choices == null) {
            choices = new ControlledChoices(s.check().choices(), s.check().costLevels(), legacyOrder(s));
        }
        Machine m = new Machine(s, choices);
        m.monitor().setStopOnFirst(true);
        LassoDetector lasso = m.enableLassos(states);
        lasso.keepEvents(keepTrace);
        List<TraceEvent> events = keepTrace ? new ArrayList<>() : List.of();
        // each line's host CPU column as it was when the event was emitted (threads move between CPUs)
        java.util.IdentityHashMap<TraceEvent, String> text = new java.util.IdentityHashMap<>();
        int[] count = new int[1];
        if (keepTrace) {
            m.attach((TraceEvent e) -> {
                events.add(e);
                text.put(e, FtraceFormat.line(e, m.hostCpuOf(e.vcpu())));
            });
        } else {
            // what the shrinker minimises: the protocol events up to and including the first violation
            m.attach((TraceEvent e) -> {
                if (m.monitor().first() == null && ProtocolEvents.is(e)) {
                    count[0]++;
                }
            });
        }
        if (setup != null) {
            setup.accept(m);
        }
        m.simulator().setMaxSteps(s.check().maxEvents());
        java.util.concurrent.ScheduledFuture<?> watchdog = WATCHDOG.schedule(m.simulator()::requestInterrupt,
                WATCHDOG_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        RunResult r;
        try {
            r = m.run();
        } finally {
            watchdog.cancel(false);
        }
        if (m.simulator().stepLimited() && m.monitor().first() == null) {
            m.monitor().violation(0, Invariant.WATCHDOG, "the run took " + s.check().maxEvents() + " events (queued "
                    + "and inline) by " + String.format("%.6f", m.simulator().now() / 1e9) + " s of simulated time "
                    + "without ending (check.max_events): the model hangs");
        } else if (m.simulator().interrupted() && m.monitor().first() == null) {
            m.monitor().violation(0, Invariant.WATCHDOG, "the run took more than " + WATCHDOG_SECONDS
                    + " s of wall time (" + m.simulator().eventCount() + " events): the model hangs");
        }
        ChoiceSequence taken = choices.taken();
        Scenario recorded = s.withCheck(s.check().withChoices(taken, s.check().costLevels()));
        // printed like the --trace file: by simulated time, then emission order (a stable sort)
        List<TraceEvent> sorted = events.stream().sorted(java.util.Comparator.comparingLong(TraceEvent::time)).toList();
        java.util.function.Function<TraceEvent, String> line = e -> {
            String l = text.get(e);
            return l != null ? l : FtraceFormat.line(e, m.hostCpuOf(e.vcpu()));
        };
        List<String> lines = sorted.stream().map(line).toList();
        List<String> protocol = !keepTrace ? List.of() : lasso.found() != null
                ? lasso.events().stream().map(line).toList()
                : sorted.stream().filter(e -> ProtocolEvents.is(e)).map(line).toList();
        int protocolEvents = lasso.found() != null ? lasso.found().cycleEnd()
                : keepTrace ? (int) protocol.stream().takeWhile(l -> !l.contains("apfsim_violation")).count() + 1
                : count[0]; // the violation event itself is emitted before it is recorded
        return new RunCase(recorded, m.monitor().first(), r, lines, protocol, lasso.found(), choices.steps(),
                protocolEvents);
    }

    private static ControlledChoices.Picker legacyOrder(Scenario s) {
        if (s.check().scheduleSeed() == 0) {
            return ControlledChoices.DEFAULTS;
        }
        java.util.SplittableRandom order = new java.util.SplittableRandom(s.check().scheduleSeed());
        return (p, n, ids, step) -> p == dev.apfsim.engine.Choices.Point.EVENT_ORDER ? order.nextInt(n) : 0;
    }

    public boolean violates(Invariant i) {
        return violation != null && violation.invariant() == i;
    }

    /** The protocol events up to and including the violation (the lasso's prefix and cycle for a livelock). */
    public List<String> protocolToViolation() {
        List<String> out = new ArrayList<>();
        for (String l : protocol) {
            out.add(l);
            if (l.contains("apfsim_violation")) {
                break;
            }
        }
        return out;
    }
}
