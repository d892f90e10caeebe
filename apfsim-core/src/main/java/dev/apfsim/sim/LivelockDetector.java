package dev.apfsim.sim;

import dev.apfsim.kvm.FaultListener;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * Counts async faults per gfn until the page is mapped. A gfn that keeps faulting asynchronously without
 * ever being mapped is the endless retry loop (seed 004; seen on a real host, docs/real-host.md).
 */
public final class LivelockDetector implements FaultListener {
    /** One gfn's faults since it was last mapped, counted in place (a fault per async PF must not allocate). */
    private static final class Streak {
        final long firstTime;
        final long firstToken;
        long count;

        Streak(long firstTime, long firstToken) {
            this.firstTime = firstTime;
            this.firstToken = firstToken;
        }
    }

    private final int limit;
    private final Long2ObjectHashMap<Streak> streaks = new Long2ObjectHashMap<>();
    private Outcome.LivelockSuspected found;

    public LivelockDetector(int limit) {
        this.limit = limit;
    }

    @Override
    public void asyncFault(long now, int vcpu, long gfn, long token) {
        Streak s = streaks.get(gfn);
        if (s == null) {
            s = new Streak(now, token);
            streaks.put(gfn, s);
        }
        s.count++;
        if (s.count >= limit && found == null) {
            double seconds = Math.max(1, now - s.firstTime) / 1e9;
            found = new Outcome.LivelockSuspected(now, vcpu, gfn, s.count, (s.count - 1) / seconds,
                    s.firstToken, token);
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
