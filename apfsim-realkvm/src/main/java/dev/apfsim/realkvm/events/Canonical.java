package dev.apfsim.realkvm.events;

import java.util.ArrayList;
import java.util.List;

/**
 * The race-free order of one vCPU's events. Two orderings in a real trace are timing, not protocol:
 * <ul>
 *   <li>where {@code kvm_async_pf_completed} falls among the vCPU's events: it is printed by the kworker
 *       whenever the page arrives; it is moved to just before the {@code kvm_async_pf_ready} of its fault;</li>
 *   <li>whether the #PF of a not-present is injected before or after a page-ready that KVM processed on the
 *       same entry (when the page came back before the vCPU re-entered the guest): each
 *       {@code kvm_inj_exception #PF} is moved to just after the not-present it delivers.</li>
 * </ul>
 * Everything else keeps its order. Both sides of a comparison are put in this form.
 */
public final class Canonical {
    private Canonical() {
    }

    public static List<ApfEvent> order(List<ApfEvent> in) {
        List<ApfEvent> ev = new ArrayList<>(in);
        injectionsAfterNotPresent(ev);
        completionsBeforeReady(ev);
        return ev;
    }

    private static void injectionsAfterNotPresent(List<ApfEvent> ev) {
        List<ApfEvent> out = new ArrayList<>();
        List<Boolean> deliveredOut = new ArrayList<>();
        for (ApfEvent e : ev) {
            if (e instanceof ApfEvent.PfInjected) {
                int target = -1;
                for (int j = out.size() - 1; j >= 0 && target < 0; j--) {
                    if (out.get(j) instanceof ApfEvent.NotPresent && !deliveredOut.get(j)) {
                        target = j;
                    }
                }
                if (target >= 0) {
                    deliveredOut.set(target, true);
                    out.add(target + 1, e);
                    deliveredOut.add(target + 1, false);
                    continue;
                }
            }
            out.add(e);
            deliveredOut.add(false);
        }
        ev.clear();
        ev.addAll(out);
    }

    private static void completionsBeforeReady(List<ApfEvent> ev) {
        int n = ev.size();
        int[] readyOf = new int[n];       // for a Completed: the index of its page-ready, or -1
        boolean[] claimed = new boolean[n];
        for (int i = 0; i < n; i++) {
            readyOf[i] = -1;
            if (ev.get(i) instanceof ApfEvent.Completed c) {
                for (int j = i + 1; j < n; j++) {
                    if (!claimed[j] && ev.get(j) instanceof ApfEvent.Ready r && r.token() != 0xffffffffL
                            && r.gva() == c.gva()) {
                        claimed[j] = true;
                        readyOf[i] = j;
                        break;
                    }
                }
            }
        }
        List<ApfEvent> out = new ArrayList<>(n);
        List<List<ApfEvent>> before = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            before.add(new ArrayList<>(1));
        }
        for (int i = 0; i < n; i++) {
            if (readyOf[i] >= 0) {
                before.get(readyOf[i]).add(ev.get(i));
            }
        }
        for (int i = 0; i < n; i++) {
            out.addAll(before.get(i));
            if (readyOf[i] < 0) {
                out.add(ev.get(i)); // a completion without page-ready keeps its place
            }
        }
        ev.clear();
        ev.addAll(out);
    }
}
