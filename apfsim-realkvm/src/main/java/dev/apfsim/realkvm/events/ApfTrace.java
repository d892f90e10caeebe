package dev.apfsim.realkvm.events;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * One side of a comparison: its name ("real", "model"), its normalised events in time order, and how its run
 * ended. The model side is built from the model's ftrace text with {@link Normaliser}, exactly as the real
 * side is from the kernel's.
 */
public record ApfTrace(String side, List<ApfEvent> events, RunEnd end) {
    public ApfTrace {
        events = List.copyOf(events);
    }

    public static ApfTrace fromFtrace(String side, List<String> lines, Normaliser.Options options, RunEnd end) {
        return new ApfTrace(side, Normaliser.fromText(lines, options), end);
    }

    /** Each vCPU's events in time order (vCPU -1 holds completions nobody could be matched to). */
    public Map<Integer, List<ApfEvent>> byVcpu() {
        return events.stream().collect(Collectors.groupingBy(ApfEvent::vcpu, TreeMap::new, Collectors.toList()));
    }

    /** Each vCPU's events in the race-free order the comparison uses. */
    public Map<Integer, List<ApfEvent>> canonicalByVcpu() {
        Map<Integer, List<ApfEvent>> m = new TreeMap<>();
        byVcpu().forEach((v, ev) -> m.put(v, Canonical.order(ev)));
        return m;
    }
}
