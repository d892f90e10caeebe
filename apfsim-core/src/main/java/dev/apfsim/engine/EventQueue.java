package dev.apfsim.engine;

import java.util.Arrays;

/**
 * Binary min-heap of events ordered by (time, insertion sequence), kept in parallel primitive arrays so that
 * scheduling and popping never box or allocate once the arrays have grown.
 */
public final class EventQueue {
    private long[] time = new long[64];
    private long[] seq = new long[64];
    private int[] code = new int[64];
    private long[] arg = new long[64];
    private EventHandler[] handler = new EventHandler[64];
    private int size;
    private long nextSeq;

    // the popped event, read through the accessors below
    private long poppedTime;
    private int poppedCode;
    private long poppedArg;
    private EventHandler poppedHandler;
    private long poppedSeq;
    /** The sequence numbers of the events the last {@link #pop(Choices)} chose among, default first. */
    private long[] candidates = new long[0];

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Time of the earliest event, or {@link Long#MAX_VALUE} when empty. */
    public long peekTime() {
        return size == 0 ? Long.MAX_VALUE : time[0];
    }

    public void push(long t, EventHandler h, int c, long a) {
        pushWithSeq(t, nextSeq++, h, c, a);
    }

    /** Takes the sequence number the next push would get, for an event pushed later ({@link #pushWithSeq}). */
    public long reserveSeq() {
        return nextSeq++;
    }

    /** Pushes with a sequence number taken earlier, so the event is ordered as if pushed then. */
    public void pushWithSeq(long t, long s, EventHandler h, int c, long a) {
        if (size == time.length) {
            grow();
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!less(t, s, time[parent], seq[parent])) {
                break;
            }
            move(parent, i);
            i = parent;
        }
        set(i, t, s, h, c, a);
    }

    /** Removes the earliest event; read it with {@link #poppedTime()} and friends. */
    public void pop() {
        poppedTime = time[0];
        poppedCode = code[0];
        poppedArg = arg[0];
        poppedHandler = handler[0];
        poppedSeq = seq[0];
        removeTop();
    }

    /**
     * Removes one of the events due at the earliest time, the chooser deciding which when several are due.
     * The others keep their sequence numbers, so FIFO order among them survives.
     */
    public void pop(Choices chooser) {
        if (chooser.isDefault() || size < 2 || time[1] != time[0] && (size < 3 || time[2] != time[0])) {
            pop();
            return;
        }
        long t = time[0];
        int n = 0;
        long[] ss = new long[8];
        int[] cs = new int[8];
        long[] as = new long[8];
        EventHandler[] hs = new EventHandler[8];
        while (size > 0 && time[0] == t) {
            if (n == ss.length) {
                ss = Arrays.copyOf(ss, n * 2);
                cs = Arrays.copyOf(cs, n * 2);
                as = Arrays.copyOf(as, n * 2);
                hs = Arrays.copyOf(hs, n * 2);
            }
            ss[n] = seq[0];
            cs[n] = code[0];
            as[n] = arg[0];
            hs[n] = handler[0];
            n++;
            removeTop();
        }
        int pick = 0;
        if (n > 1) {
            int[] footprints = new int[n];
            for (int i = 0; i < n; i++) {
                footprints[i] = hs[i].footprint();
            }
            candidates = Arrays.copyOf(ss, n);
            pick = chooser.pick(Choices.Point.EVENT_ORDER, n, footprints);
        }
        for (int i = 0; i < n; i++) {
            if (i != pick) {
                pushWithSeq(t, ss[i], hs[i], cs[i], as[i]);
            }
        }
        poppedTime = t;
        poppedCode = cs[pick];
        poppedArg = as[pick];
        poppedHandler = hs[pick];
        poppedSeq = ss[pick];
    }

    /** The popped event's sequence number: its name among the events of one instant. */
    public long poppedSeq() {
        return poppedSeq;
    }

    /** The events the last event-order choice was among, by sequence number, in the order of its alternatives. */
    public long[] candidates() {
        return candidates.clone();
    }

    public long poppedTime() {
        return poppedTime;
    }

    public int poppedCode() {
        return poppedCode;
    }

    public long poppedArg() {
        return poppedArg;
    }

    public EventHandler poppedHandler() {
        return poppedHandler;
    }

    private void removeTop() {
        int last = --size;
        long t = time[last];
        long s = seq[last];
        EventHandler h = handler[last];
        int c = code[last];
        long a = arg[last];
        handler[last] = null;
        if (last == 0) {
            return;
        }
        int i = 0;
        int half = last >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < last && less(time[right], seq[right], time[child], seq[child])) {
                child = right;
            }
            if (!less(time[child], seq[child], t, s)) {
                break;
            }
            move(child, i);
            i = child;
        }
        set(i, t, s, h, c, a);
    }

    private static boolean less(long t1, long s1, long t2, long s2) {
        return t1 < t2 || (t1 == t2 && s1 < s2);
    }

    private void move(int from, int to) {
        time[to] = time[from];
        seq[to] = seq[from];
        code[to] = code[from];
        arg[to] = arg[from];
        handler[to] = handler[from];
    }

    private void set(int i, long t, long s, EventHandler h, int c, long a) {
        time[i] = t;
        seq[i] = s;
        code[i] = c;
        arg[i] = a;
        handler[i] = h;
    }

    private void grow() {
        int n = time.length * 2;
        time = Arrays.copyOf(time, n);
        seq = Arrays.copyOf(seq, n);
        code = Arrays.copyOf(code, n);
        arg = Arrays.copyOf(arg, n);
        handler = Arrays.copyOf(handler, n);
    }
}
