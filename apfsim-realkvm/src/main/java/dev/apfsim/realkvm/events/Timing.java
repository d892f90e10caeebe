package dev.apfsim.realkvm.events;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * The timing figures of one side, from the events' timestamps (taken before {@link Canonical} reordering):
 * fault to not-present injection, completion to page-ready, page-ready to the guest's ACK.
 */
public record Timing(Stat faultToInjection, Stat completedToReady, Stat readyToAck) {

    /** Count, median, min and max in ns; n = 0 when the side had no such interval. */
    public record Stat(int n, long medianNs, long minNs, long maxNs) {
        static Stat of(List<Long> xs) {
            if (xs.isEmpty()) {
                return new Stat(0, 0, 0, 0);
            }
            long[] a = xs.stream().mapToLong(Long::longValue).toArray();
            Arrays.sort(a);
            return new Stat(a.length, a[a.length / 2], a[0], a[a.length - 1]);
        }

        @Override
        public String toString() {
            return n == 0 ? "-" : String.format("%.1f [%.1f-%.1f] n=%d", medianNs / 1e3, minNs / 1e3, maxNs / 1e3, n);
        }
    }

    /** {@code ev}: one vCPU's events in time order. */
    public static Timing of(List<ApfEvent> ev) {
        return ofVcpus(List.of(ev));
    }

    /** The figures over several vCPUs, each list one vCPU's events in time order. */
    public static Timing ofVcpus(Collection<List<ApfEvent>> vcpus) {
        List<Long> inj = new ArrayList<>(), ready = new ArrayList<>(), ack = new ArrayList<>();
        for (List<ApfEvent> ev : vcpus) {
            collect(ev, inj, ready, ack);
        }
        return new Timing(Stat.of(inj), Stat.of(ready), Stat.of(ack));
    }

    private static void collect(List<ApfEvent> ev, List<Long> inj, List<Long> ready, List<Long> ack) {
        for (int i = 0; i < ev.size(); i++) {
            ApfEvent e = ev.get(i);
            if (e instanceof ApfEvent.NotPresent np) {
                // the TryAsync just before it is the fault; the next #PF injection delivers it
                long fault = np.timeNs();
                if (i > 0 && ev.get(i - 1) instanceof ApfEvent.TryAsync t && t.gva() == np.gva()) {
                    fault = t.timeNs();
                }
                for (int j = i + 1; j < ev.size(); j++) {
                    if (ev.get(j) instanceof ApfEvent.PfInjected p) {
                        inj.add(p.timeNs() - fault);
                        break;
                    }
                    if (ev.get(j) instanceof ApfEvent.NotPresent || ev.get(j) instanceof ApfEvent.TryAsync) {
                        break; // not delivered (synthetic halt)
                    }
                }
            } else if (e instanceof ApfEvent.Ready r) {
                if (r.token() != 0xffffffffL) {
                    for (int j = i - 1; j >= 0; j--) {
                        if (ev.get(j) instanceof ApfEvent.Completed c && c.gva() == r.gva()) {
                            ready.add(r.timeNs() - c.timeNs());
                            break;
                        }
                    }
                }
                for (int j = i + 1; j < ev.size(); j++) {
                    if (ev.get(j) instanceof ApfEvent.ApfMsrWrite w && w.msr() == Normaliser.MSR_ACK) {
                        ack.add(w.timeNs() - r.timeNs());
                        break;
                    }
                    if (ev.get(j) instanceof ApfEvent.Ready) {
                        break;
                    }
                }
            }
        }
    }
}
