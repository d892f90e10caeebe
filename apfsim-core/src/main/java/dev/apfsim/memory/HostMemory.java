package dev.apfsim.memory;

import dev.apfsim.engine.Access;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;

import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Guest RAM as seen by the host: one byte of state per 4 KiB frame (a 64 GiB guest costs 16 MiB here), host
 * reclaim by CLOCK under a resident limit, backing devices for swapped-out and not-yet-arrived frames, and
 * failure rules. Only lookups go through hash maps, never iteration, so runs stay deterministic.
 */
public final class HostMemory implements EventHandler {
    public static final byte UNTOUCHED = 0; // never touched: first access zero-fills (minor fault)
    public static final byte MAPPED = 1;    // resident and mapped in the TDP MMU
    public static final byte RESIDENT = 2;  // resident, not mapped (minor fault)
    public static final byte SWAPPED = 3;   // on the swap device
    public static final byte REMOTE = 4;    // not yet arrived (post-copy), served by the userfault handler

    /** Outcome of the no-wait half of {@code hva_to_pfn}. */
    public enum Nowait { MAPPED_NOW, NEEDS_IO, EFAULT, HWPOISON }

    /** Called when a blocking GUP finishes; {@code errno} 0 on success, else EFAULT (14) or EHWPOISON (133). */
    public interface PageWaiter {
        void pageDone(long gfn, int errno);
    }

    public static final int EFAULT = 14;
    /** A GUP that may be interrupted ({@code FOLL_INTERRUPTIBLE}) gave up on a pending signal ({@code gup_signal_pending}). */
    public static final int EINTR = 4;
    public static final int EHWPOISON = 133;

    private static final int SIGBUS_FAIL = 1;
    private static final int DELAYED_ARRIVAL = 2;

    private final Simulator sim;
    private final byte[] state;
    private final byte[] referenced;
    /** Per frame, how often it was brought in (mod 256): the checker tells a page that keeps failing from one that thrashes. */
    private final byte[] arrivals;
    private final long frames;
    private final long residentLimit;
    private final long failSeed;
    private final List<FailureRule> failures;
    private final Long2ObjectHashMap<ArrayList<PageWaiter>> inflight =
            new Long2ObjectHashMap<>();
    private final long sigbusLatencyNs;
    private BackingDevice swap;
    private BackingDevice remote;
    private long resident;
    private int hand;

    // counters
    private long minorFaults;
    private long evictions;
    private long spuriousWakes;
    private long zeroFills;
    private long failedGups;

    public HostMemory(Simulator sim, long frames, long residentLimitFrames, List<FailureRule> failures,
                      long sigbusLatencyNs) {
        if (frames > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("guest too large: " + frames + " frames");
        }
        this.sim = sim;
        this.frames = frames;
        this.state = new byte[(int) frames];
        this.referenced = new byte[(int) frames];
        this.arrivals = new byte[(int) frames];
        this.residentLimit = residentLimitFrames;
        this.failures = List.copyOf(failures);
        this.failSeed = sim.random().seed();
        this.sigbusLatencyNs = sigbusLatencyNs;
    }

    public void setDevices(BackingDevice swap, BackingDevice remote) {
        this.swap = swap;
        this.remote = remote;
    }

    public long frames() {
        return frames;
    }

    /** Sets the initial state of a range (before the run starts). */
    public void initRange(long firstGfn, long count, byte s) {
        for (long g = firstGfn; g < firstGfn + count && g < frames; g++) {
            setState((int) g, s);
        }
        while (resident > residentLimit) {
            evictOne();
        }
    }

    private void setState(int g, byte s) {
        boolean was = isResidentState(state[g]);
        boolean is = isResidentState(s);
        state[g] = s;
        if (was != is) {
            resident += is ? 1 : -1;
        }
    }

    private static boolean isResidentState(byte s) {
        return s == MAPPED || s == RESIDENT;
    }

    public byte state(long gfn) {
        sim.touch(Access.PAGE | gfn);
        return state[(int) gfn];
    }

    /** Guest access through an existing TDP mapping: sets the accessed bit CLOCK reads. */
    public boolean accessMapped(long gfn) {
        if (gfn >= frames || gfn < 0) {
            return false;
        }
        int g = (int) gfn;
        sim.touch(Access.PAGE | gfn);
        if (state[g] == MAPPED) {
            referenced[g] = 1;
            return true;
        }
        return false;
    }

    /** How often frame {@code gfn} was brought in, mod 256 (reclaim may take it again before it is used). */
    public int arrivals(long gfn) {
        return gfn >= 0 && gfn < frames ? arrivals[(int) gfn] & 0xff : 0;
    }

    public boolean isResident(long gfn) {
        sim.touch(Access.PAGE | gfn);
        return isResidentState(state[(int) gfn]);
    }

    /** Installs the TDP mapping of a resident frame (fault fixed or prefault). */
    public void map(long gfn) {
        sim.touch(Access.PAGE | gfn);
        int g = (int) gfn;
        if (isResidentState(state[g])) {
            state[g] = MAPPED;
            referenced[g] = 1;
        }
    }

    /** The no-wait GUP of {@code hva_to_pfn}: minor faults resolve at once, I/O and failures are reported. */
    public Nowait faultinNowait(long gfn) {
        sim.touch(Access.PAGE | gfn);
        FailureRule f = activeFailure(gfn);
        if (f != null) {
            switch (f.kind()) {
                case UNMAPPED -> {
                    return Nowait.EFAULT; // no VMA: hva_to_pfn does not set *async
                }
                case HWPOISON -> {
                    return Nowait.HWPOISON;
                }
                case SIGBUS -> {
                    return Nowait.NEEDS_IO; // VMA valid, nowait failed: *async = true
                }
                default -> {
                }
            }
        }
        int g = (int) gfn;
        byte s = state[g];
        if (s == MAPPED || s == RESIDENT || s == UNTOUCHED) {
            if (s == UNTOUCHED) {
                makeResident(g);
            }
            minorFaults++;
            return Nowait.MAPPED_NOW;
        }
        return Nowait.NEEDS_IO;
    }

    /**
     * Whether a blocking GUP of {@code gfn} sleeps (waits for I/O) rather than returning on the CPU that called it:
     * a page already in, or a fault that fails at once (SIGBUS-mode userfault, no VMA, poison), does not sleep.
     */
    public boolean gupSleeps(long gfn) {
        sim.touch(Access.PAGE | gfn);
        FailureRule f = activeFailure(gfn);
        if (f != null && (f.kind() == FailureRule.Kind.SIGBUS || f.kind() == FailureRule.Kind.UNMAPPED
                || f.kind() == FailureRule.Kind.HWPOISON)) {
            return false;
        }
        byte s = state[(int) gfn];
        return !(isResidentState(s) || s == UNTOUCHED);
    }

    /** A blocking {@code get_user_pages}: the waiter hears back when the page is in, or failed. */
    public void getUserPages(long gfn, PageWaiter waiter) {
        sim.touch(Access.PAGE | gfn);
        FailureRule f = activeFailure(gfn);
        if (f != null && (f.kind() == FailureRule.Kind.SIGBUS || f.kind() == FailureRule.Kind.UNMAPPED
                || f.kind() == FailureRule.Kind.HWPOISON)) {
            failedGups++;
            ArrayList<PageWaiter> list = new ArrayList<>(1);
            list.add(waiter);
            long key = gfn;
            // the fault handler fails fast; deliver the error after the handler's latency
            pendingFailures.put(++failureSeq, new Failed(key, list, f.kind() == FailureRule.Kind.HWPOISON ? EHWPOISON : EFAULT));
            sim.after(sigbusLatencyNs, this, SIGBUS_FAIL, failureSeq);
            return;
        }
        int g = (int) gfn;
        if (isResidentState(state[g]) || state[g] == UNTOUCHED) {
            if (state[g] == UNTOUCHED) {
                makeResident(g);
            }
            waiter.pageDone(gfn, 0);
            return;
        }
        ArrayList<PageWaiter> waiters = inflight.get(gfn);
        if (waiters != null) {
            waiters.add(waiter); // I/O already in flight: wait on the same page lock
            return;
        }
        waiters = new ArrayList<>(2);
        waiters.add(waiter);
        inflight.put(gfn, waiters);
        if (f != null && f.kind() == FailureRule.Kind.NEVER) {
            return; // nobody ever answers
        }
        if (f != null && f.kind() == FailureRule.Kind.SPURIOUS_WAKE) {
            spuriousWakes++; // woken without a page: GUP faults again and keeps waiting for the real read
        }
        FailureRule zf = zeroFillRule(gfn);
        if (zf != null && state[g] == REMOTE) {
            sim.at(Math.max(sim.now(), zf.fromNs()), this, DELAYED_ARRIVAL, gfn);
            return;
        }
        (state[g] == REMOTE && remote != null ? remote : swap).submit(gfn);
    }

    private record Failed(long gfn, ArrayList<PageWaiter> waiters, int errno) {
    }

    private final HashMap<Long, Failed> pendingFailures = new HashMap<>();
    private long failureSeq;

    @Override
    public void onEvent(int code, long arg) {
        if (code == SIGBUS_FAIL) {
            Failed failed = pendingFailures.remove(arg);
            for (PageWaiter w : failed.waiters()) {
                w.pageDone(failed.gfn(), failed.errno());
            }
        } else if (code == DELAYED_ARRIVAL) {
            zeroFills++;
            pageRead(arg);
        }
    }

    /** A device finished reading {@code gfn}. */
    public void pageRead(long gfn) {
        sim.touch(Access.PAGE | gfn);
        ArrayList<PageWaiter> waiters = inflight.remove(gfn);
        FailureRule f = activeFailure(gfn);
        int errno = 0;
        if (f != null && (f.kind() == FailureRule.Kind.SIGBUS || f.kind() == FailureRule.Kind.UNMAPPED)) {
            errno = EFAULT; // the range went away while the read was in flight
            failedGups++;
        } else {
            makeResident((int) gfn);
        }
        if (waiters != null) {
            for (PageWaiter w : waiters) {
                w.pageDone(gfn, errno);
            }
        }
    }

    private void makeResident(int g) {
        if (!isResidentState(state[g])) {
            arrivals[g]++;
            if (residentLimit < frames) {
                sim.touch(Access.MEMORY); // reclaim may take any frame
            }
            setState(g, RESIDENT);
            referenced[g] = 1;
            while (resident > residentLimit) {
                evictOne();
            }
        }
    }

    /** One step of host reclaim (CLOCK): second chance for referenced frames, evicted ones go to swap. */
    private void evictOne() {
        for (long scanned = 0; scanned < 2 * frames + 2; scanned++) {
            int g = hand;
            hand = (int) ((hand + 1) % frames);
            if (!isResidentState(state[g])) {
                continue;
            }
            if (referenced[g] != 0) {
                referenced[g] = 0;
                continue;
            }
            setState(g, SWAPPED); // unmapping from the TDP MMU happens with it
            evictions++;
            return;
        }
    }

    public FailureRule activeFailure(long gfn) {
        if (failures.isEmpty()) {
            return null;
        }
        long now = sim.now();
        for (FailureRule r : failures) {
            if (r.kind() != FailureRule.Kind.ZERO_FILL && r.kind() != FailureRule.Kind.SPURIOUS_WAKE
                    && r.activeAt(now) && r.covers(gfn, failSeed)) {
                return r;
            }
            if ((r.kind() == FailureRule.Kind.SPURIOUS_WAKE) && r.covers(gfn, failSeed) && now < r.fromNs()) {
                return r;
            }
        }
        return null;
    }

    private FailureRule zeroFillRule(long gfn) {
        for (FailureRule r : failures) {
            if (r.kind() == FailureRule.Kind.ZERO_FILL && r.covers(gfn, failSeed)) {
                return r;
            }
        }
        return null;
    }

    public long resident() {
        return resident;
    }

    public long minorFaults() {
        return minorFaults;
    }

    public long evictions() {
        return evictions;
    }

    public long spuriousWakes() {
        return spuriousWakes;
    }

    public long zeroFills() {
        return zeroFills;
    }

    public long failedGups() {
        return failedGups;
    }

    public int inflightPages() {
        return inflight.size();
    }
}
