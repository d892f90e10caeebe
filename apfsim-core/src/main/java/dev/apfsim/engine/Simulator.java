package dev.apfsim.engine;

/**
 * Discrete-event engine: an integer-nanosecond clock and one event queue. Everything that happens in a run is
 * an event popped here, in (time, sequence) order, so one seed names one execution.
 */
public final class Simulator {
    private final EventQueue queue = new EventQueue();
    private final RandomStreams random;
    private ScheduleChooser chooser = ScheduleChooser.FIFO;
    private long now;
    private long events;
    private boolean stopped;
    private long until = Long.MAX_VALUE;
    private Probe probe;

    /** Sees every event just before it runs (benchmarks count events per handler); no effect on the run. */
    public interface Probe {
        void event(EventHandler handler, int code);
    }

    public Simulator(long seed) {
        this.random = new RandomStreams(seed);
    }

    public long now() {
        return now;
    }

    public RandomStreams random() {
        return random;
    }

    public long eventCount() {
        return events;
    }

    /** Installs {@code p} (null: none, the default, which costs one test per event). */
    public void setProbe(Probe p) {
        this.probe = p;
    }

    public void setChooser(ScheduleChooser chooser) {
        this.chooser = chooser;
    }

    /**
     * Earliest pending event time, capped at the end of the current {@link #run}: a component may act inline up
     * to (not past) this horizon, so nothing happens after the time a run stops at.
     */
    public long horizon() {
        return Math.min(queue.peekTime(), until);
    }

    public int pending() {
        return queue.size();
    }

    public void at(long time, EventHandler h, int code, long arg) {
        if (time < now) {
            throw new IllegalArgumentException("event in the past: " + time + " < " + now);
        }
        queue.push(time, h, code, arg);
    }

    public void after(long delay, EventHandler h, int code, long arg) {
        at(now + delay, h, code, arg);
    }

    /** Ends the run after the current event (a VM stop, a guest panic, a violation). */
    public void stop() {
        stopped = true;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Runs until {@code until} (exclusive), an explicit stop, or an empty queue. Returns true if time ran out. */
    public boolean run(long until) {
        this.until = until;
        while (!stopped && !queue.isEmpty()) {
            if (queue.peekTime() >= until) {
                now = until;
                return true;
            }
            queue.pop(chooser);
            now = queue.poppedTime();
            events++;
            if (probe != null) {
                probe.event(queue.poppedHandler(), queue.poppedCode());
            }
            queue.poppedHandler().onEvent(queue.poppedCode(), queue.poppedArg());
        }
        return false;
    }
}
