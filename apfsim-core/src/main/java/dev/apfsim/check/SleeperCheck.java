package dev.apfsim.check;

import dev.apfsim.guest.GuestKernel;
import dev.apfsim.guest.Task;
import dev.apfsim.kvm.VcpuView;
import dev.apfsim.trace.FtraceFormat;

import java.util.HashMap;
import java.util.List;

/**
 * Liveness of guest sleepers, checked between slices of a run: a task asleep on a token that no vCPU still has
 * outstanding will never be woken by a page-ready (lost wake-up); a task asleep longer than the bound breaks
 * liveness.
 */
public final class SleeperCheck {
    /** Time for an already-consumed page-ready to reach its sleeper before the sleeper counts as orphaned. */
    private static final long ORPHAN_GRACE_NS = 5_000_000;

    private final GuestKernel guest;
    private final List<? extends VcpuView> vcpus;
    private final Monitor monitor;
    private final long bound;
    private final HashMap<Integer, Long> orphanSince = new HashMap<>();
    private final HashMap<Integer, Long> reported = new HashMap<>();
    /** Since when each sleeper's page has been there (its item completed), for the liveness bound. */
    private final HashMap<Integer, Long> arrivedSince = new HashMap<>();

    public SleeperCheck(GuestKernel guest, List<? extends VcpuView> vcpus, Monitor monitor, long livenessBoundNs) {
        this.guest = guest;
        this.vcpus = vcpus;
        this.monitor = monitor;
        this.bound = livenessBoundNs;
    }

    public void check(long now) {
        for (Task t : guest.tasks()) {
            if (t.state() != Task.State.APF_SLEEP) {
                orphanSince.remove(t.id);
                arrivedSince.remove(t.id);
                continue;
            }
            Long rep = reported.get(t.id);
            if (rep != null && rep == t.sleepStart()) {
                continue; // this sleep was reported already
            }
            // the page must have arrived: a slow device (the checker's cost choices) is not a liveness failure
            boolean arrived = !inService(t.sleepToken());
            if (!arrived) {
                arrivedSince.remove(t.id);
            }
            long got = arrived ? arrivedSince.computeIfAbsent(t.id, k -> now) : now;
            if (now - t.sleepStart() > bound && now - got >= Math.min(bound, ORPHAN_GRACE_NS)) {
                reported.put(t.id, t.sleepStart());
                monitor.violation(t.cpu, Invariant.LIVENESS, "task " + t.name + " asleep on token "
                        + FtraceFormat.hex(t.sleepToken()) + " for " + (now - t.sleepStart()) / 1_000_000 + " ms");
                continue;
            }
            if (outstanding(t.sleepToken())) {
                orphanSince.remove(t.id);
                continue;
            }
            // since when this sleep has been orphaned: an orphan seen during an earlier sleep of the task does not count
            // (a task that sleeps and is woken many times between two checks is caught each time between a
            // page-ready's delivery and its handler)
            long start = t.sleepStart();
            long since = orphanSince.merge(t.id, now, (seen, n) -> seen < start ? n : seen);
            if (now - since >= ORPHAN_GRACE_NS) {
                reported.put(t.id, t.sleepStart());
                monitor.violation(t.cpu, Invariant.LOST_WAKEUP, "task " + t.name + " sleeps on token "
                        + FtraceFormat.hex(t.sleepToken()) + " that no vCPU has outstanding: nothing will wake it");
            }
        }
    }

    /** An item with this token is still being worked on (its worker has not completed). */
    private boolean inService(long token) {
        for (VcpuView v : vcpus) {
            if (v.hasItem(token, true)) {
                return true;
            }
        }
        return false;
    }

    private boolean outstanding(long token) {
        for (VcpuView v : vcpus) {
            if (v.pageReadyInFlight(token)) {
                return true; // delivered to the slot, waiting for the guest to take the interrupt
            }
            if (v.hasItem(token, false)) {
                return true;
            }
        }
        return false;
    }
}
