package dev.apfsim.explore;

import dev.apfsim.check.Invariant;
import dev.apfsim.check.Violation;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;

import java.util.ArrayList;
import java.util.List;

/** One checked run: the scenario, stopped at its first violation, with the trace kept if asked. */
public record RunCase(Scenario scenario, Violation violation, RunResult result, List<String> trace) {

    public static RunCase run(Scenario s, boolean keepTrace) {
        Machine m = new Machine(s);
        m.monitor().setStopOnFirst(true);
        List<TraceEvent> events = keepTrace ? new ArrayList<>() : List.of();
        if (keepTrace) {
            m.attach((TraceEvent e) -> events.add(e));
        }
        RunResult r = m.run();
        // printed like the --trace file: by simulated time, then emission order (a stable sort)
        List<String> lines = events.stream().sorted(java.util.Comparator.comparingLong(TraceEvent::time))
                .map(FtraceFormat::line).toList();
        return new RunCase(s, m.monitor().first(), r, lines);
    }

    public boolean violates(Invariant i) {
        return violation != null && violation.invariant() == i;
    }
}
