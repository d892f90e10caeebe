package dev.apfsim.sim;

import dev.apfsim.kvm.FaultListener;

import java.util.HashMap;

/**
 * Counts async faults per gfn until the page is mapped. A gfn that keeps faulting asynchronously without
 * ever being mapped is the endless retry loop (seed 004; seen on a real host, docs/real-host.md).
 */
public final class LivelockDetector implements FaultListener {
    private record Streak(long firstTime, long firstToken, long count) {
    }

    private final int limit;
    private final HashMap<Long, Streak> streaks = new HashMap<>();
    private Outcome.LivelockSuspected found;

    public LivelockDetector(int limit) {
        this.limit = limit;
    }

    @Override
    public void asyncFault(long now, int vcpu, long gfn, long token) {
        Streak s = streaks.get(gfn);
        s = s == null ? new Streak(now, token, 1) : new Streak(s.firstTime(), s.firstToken(), s.count() + 1);
        streaks.put(gfn, s);
        if (s.count() >= limit && found == null) {
            double seconds = Math.max(1, now - s.firstTime()) / 1e9;
            found = new Outcome.LivelockSuspected(now, vcpu, gfn, s.count(), (s.count() - 1) / seconds,
                    s.firstToken(), token);
        }
    }

    private long mapped;

    /** Faulting gfns finally mapped so far: accesses that completed after a fault (progress, for the checker). */
    public long mappedCount() {
        return mapped;
    }

    @Override
    public void mapped(long gfn) {
        mapped++;
        if (!streaks.isEmpty()) {
            streaks.remove(gfn);
        }
    }

    public Outcome.LivelockSuspected found() {
        return found;
    }
}
