package dev.apfsim.realkvm.events;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    /**
     * A real side kept by {@code apfsim conform --keep} ({@code Recording.writeTrace}): the kernel's lines after a
     * header that names the page-ready vector and the run's end. Only our threads' lines were kept, so vCPUs are
     * told by their {@code CPU n/KVM} comm.
     */
    public static ApfTrace fromKept(String side, List<String> lines) {
        int vector = -1;
        RunEnd end = RunEnd.of(RunEnd.Kind.UNKNOWN);
        Map<Integer, Long> stops = new TreeMap<>();
        for (String l : lines) {
            if (!l.startsWith("#")) {
                break;
            }
            Matcher m = KEPT_HEADER.matcher(l), st = KEPT_STOP.matcher(l);
            if (m.find()) {
                vector = Integer.parseInt(m.group(1));
                end = RunEnd.parse(m.group(2));
            } else if (st.find()) {
                stops.put(Integer.parseInt(st.group(1)), Long.parseLong(st.group(2)));
            }
        }
        if (vector < 0) {
            throw new IllegalArgumentException("no '# page-ready vector N; end: ...' header: not a kept real trace");
        }
        return fromFtrace(side, lines, Normaliser.Options.model(vector), end).cutAt(stops);
    }

    private static final Pattern KEPT_HEADER = Pattern.compile("^# page-ready vector (\\d+); end: (.*)$"),
            KEPT_STOP = Pattern.compile("^# vcpu (\\d+) stopped by its guest at (\\d+) ns$");

    /**
     * This trace without the events of vCPU {@code v} after {@code stops.get(v)}, nor its completions that no
     * page-ready followed: a guest that stopped itself
     * (Linux's panic stops the machine; the model stops the VM there) sees nothing after, though work in
     * flight still completes in a kworker while the VMM tears down.
     */
    public ApfTrace cutAt(Map<Integer, Long> stops) {
        if (stops.isEmpty()) {
            return this;
        }
        List<ApfEvent> kept = events.stream().filter(e -> !stops.containsKey(e.vcpu())
                || e.timeNs() <= stops.get(e.vcpu())).toList();
        // a completion of a fault still outstanding when the guest stopped (no page-ready after it) is work the
        // guest never saw, however early the kworker got to it on a loaded host
        List<ApfEvent> out = new java.util.ArrayList<>();
        for (int i = 0; i < kept.size(); i++) {
            ApfEvent e = kept.get(i);
            if (e instanceof ApfEvent.Completed c && stops.containsKey(c.vcpu()) && kept.subList(i + 1, kept.size())
                    .stream().noneMatch(x -> x instanceof ApfEvent.Ready r && r.vcpu() == c.vcpu() && r.gva() == c.gva())) {
                continue;
            }
            out.add(e);
        }
        return new ApfTrace(side, out, end);
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
