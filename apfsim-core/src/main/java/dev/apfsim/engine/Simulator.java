package dev.apfsim.engine;

/**
 * Discrete-event engine: an integer-nanosecond clock and one event queue. Everything that happens in a run is
 * an event popped here, in (time, sequence) order, so one seed names one execution.
 */
public final class Simulator {
    /**
     * Most steps — events, and actions a component runs inline — at one simulated instant. A legitimate burst at
     * one instant (a wake-all, a script of a million zero-time steps) stays far below; beyond it the run is a loop
     * that takes no simulated time, and it stops with {@link #stalledAt()} set instead of hanging.
     */
    public static final long MAX_STEPS_PER_INSTANT = 10_000_000;

    private final EventQueue queue = new EventQueue();
    private final RandomStreams random;
    private Choices choices = Choices.DEFAULT;
    private long now;
    private long events;
    private boolean stopped;
    private long until = Long.MAX_VALUE;
    private long instant = -1;
    private long stepsAtInstant;
    private long stalledAt = -1;
    /** Set from another thread (Ctrl-C): the run stops at the next check, every {@link #CHECK_EVERY} events. */
    private volatile boolean interruptRequested;
    private boolean interrupted;
    /** Clock and event count as of the last check, readable from another thread (progress display). */
    private volatile long publishedNow;
    private volatile long publishedEvents;
    private static final int CHECK_EVERY = 4096;
    /** At most this many steps (events and inline continuations) per run; then the run stops, step-limited. */
    private long maxSteps = Long.MAX_VALUE;
    private boolean stepLimited;
    private Probe probe;
    private Access.Recorder accesses;
    /** The sequence number of the step that runs (its touches are recorded under it). */
    private long currentSeq = -1;

    // the continuation an actor asked to run next ({@link #continueAt}), with the sequence number it got then
    private EventHandler nextHandler;
    private long nextTime;
    private long nextSeq;
    private int nextCode;
    private long nextArg;
    private long inlineSteps;

    /**
     * Sees every step just before it runs (benchmarks count them per handler); no effect on the run. {@code queued}
     * is false for a continuation that ran without going through the queue ({@link #continueAt}).
     */
    public interface Probe {
        void event(EventHandler handler, int code, boolean queued);
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

    /** Events popped from the queue: the steps that other actors' steps could come before or between. */
    public long eventCount() {
        return events;
    }

    /** Continuations run without the queue ({@link #continueAt}): not engine events, each a step of its actor. */
    public long inlineSteps() {
        return inlineSteps;
    }

    /** Steps run so far: events popped from the queue and continuations run inline. */
    public long steps() {
        return events + inlineSteps;
    }

    /**
     * Stops the run before its step number {@code max + 1} ({@link #stepLimited()}): the checker's deterministic
     * watchdog, since steps, unlike wall time, do not depend on the machine.
     */
    public void setMaxSteps(long max) {
        this.maxSteps = max;
    }

    /** True when the run stopped at {@link #setMaxSteps its step bound}. */
    public boolean stepLimited() {
        return stepLimited;
    }

    /** Stops the run if it has taken all the steps it may. */
    private boolean atStepLimit() {
        if (events + inlineSteps >= maxSteps) {
            stepLimited = true;
            stopped = true;
        }
        return stopped;
    }

    /** Records what the watched events touch ({@link Access}); null, the default, records nothing. */
    public void setAccessRecorder(Access.Recorder r) {
        this.accesses = r;
    }

    private void begin(long seq) {
        currentSeq = seq;
        if (accesses != null && accesses.watches(seq)) {
            accesses.started(seq);
        }
    }

    /** The step that runs touches {@code object} (a shared object, {@link Access}). */
    public void touch(long object) {
        if (accesses != null && accesses.watches(currentSeq)) {
            accesses.touched(currentSeq, object);
        }
    }

    /** The events the last event-order decision was among, by sequence number ({@link EventQueue#candidates}). */
    public long[] orderCandidates() {
        return queue.candidates();
    }

    /** Installs {@code p} (null: none, the default, which costs one test per event). */
    public void setProbe(Probe p) {
        this.probe = p;
    }

    /** Who takes the run's nondeterministic decisions ({@link Choices#DEFAULT}: the scenario's own values). */
    public void setChoices(Choices choices) {
        this.choices = choices;
    }

    public Choices choices() {
        return choices;
    }

    /**
     * Earliest pending event time, capped at the end of the current {@link #run}: a component may act inline up
     * to (not past) this horizon, so nothing happens after the time a run stops at.
     */
    public long horizon() {
        return Math.min(Math.min(queue.peekTime(), nextHandler == null ? Long.MAX_VALUE : nextTime), until);
    }

    public int pending() {
        return queue.size() + (nextHandler == null ? 0 : 1);
    }

    /**
     * Schedules the next step of the actor whose event is running, like {@link #at}, and runs it as soon as this event
     * ends without going through the queue when nothing else can come first: when it is due strictly before every
     * pending event and before the end of the run. Then no other actor can act (or observe anything) in between, and
     * no chooser has a choice to make (choices are among events due at the same time): it is the same step the queue
     * would have run next, so the run is the same event for event. Otherwise it is queued with the sequence number it
     * got now, exactly as {@link #at} would have. One continuation at a time; a second one is queued at once.
     */
    public void continueAt(long time, EventHandler h, int code, long arg) {
        if (nextHandler != null) {
            at(time, h, code, arg);
            return;
        }
        if (time < now) {
            throw new IllegalArgumentException("event in the past: " + time + " < " + now);
        }
        nextHandler = h;
        nextTime = time;
        nextSeq = queue.reserveSeq();
        nextCode = code;
        nextArg = arg;
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

    /**
     * The run makes no progress at {@code t}: a component looped {@link #MAX_STEPS_PER_INSTANT} times without
     * simulated time advancing. Stops the run; {@link #stalledAt()} tells where.
     */
    public void noProgress(long t) {
        if (stalledAt < 0) {
            stalledAt = t;
        }
        stopped = true;
    }

    /** The instant the run got stuck at ({@link #noProgress}), or -1. */
    public long stalledAt() {
        return stalledAt;
    }

    /** Any thread: asks the run to stop soon (Ctrl-C); the model state stays consistent, it just ends early. */
    public void requestInterrupt() {
        interruptRequested = true;
    }

    /** True when the run stopped because of {@link #requestInterrupt()}. */
    public boolean interrupted() {
        return interrupted;
    }

    /** Simulated time as of a recent event, for another thread (progress); never read by the model. */
    public long publishedNow() {
        return publishedNow;
    }

    /** Events done as of a recent event, for another thread (progress). */
    public long publishedEvents() {
        return publishedEvents;
    }

    /** Ends the run after the current event (a VM stop, a guest panic, a violation). */
    public void stop() {
        stopped = true;
    }

    public boolean stopped() {
        return stopped;
    }

    /**
     * Runs the pending continuation inline if it is strictly the earliest step and the run goes on, else queues it.
     * Returns true when no continuation is left to look at.
     */
    private boolean runContinuation() {
        EventHandler h = nextHandler;
        nextHandler = null;
        if (atStepLimit() || nextTime >= until || nextTime >= queue.peekTime()) {
            queue.pushWithSeq(nextTime, nextSeq, h, nextCode, nextArg);
            return true;
        }
        now = nextTime;
        inlineSteps++;
        if (now != instant) {
            instant = now;
            stepsAtInstant = 1;
        } else if (++stepsAtInstant > MAX_STEPS_PER_INSTANT) {
            noProgress(now);
            return true;
        }
        if (probe != null) {
            probe.event(h, nextCode, false);
        }
        begin(nextSeq);
        h.onEvent(nextCode, nextArg);
        return nextHandler == null;
    }

    /** Runs until {@code until} (exclusive), an explicit stop, or an empty queue. Returns true if time ran out. */
    public boolean run(long until) {
        this.until = until;
        if (nextHandler != null) { // asked for outside an event: an ordinary one
            EventHandler h = nextHandler;
            nextHandler = null;
            queue.pushWithSeq(nextTime, nextSeq, h, nextCode, nextArg);
        }
        if (interruptRequested) {
            interrupted = true;
            stopped = true;
        }
        while (!stopped && !queue.isEmpty()) {
            if (queue.peekTime() >= until) {
                now = until;
                publishedNow = now;
                publishedEvents = events;
                return true;
            }
            if (atStepLimit()) {
                break;
            }
            queue.pop(choices);
            now = queue.poppedTime();
            events++;
            if (now != instant) {
                instant = now;
                stepsAtInstant = 1;
            } else if (++stepsAtInstant > MAX_STEPS_PER_INSTANT) {
                noProgress(now);
                break;
            }
            if ((events & (CHECK_EVERY - 1)) == 0) {
                publishedNow = now;
                publishedEvents = events;
                if (interruptRequested) {
                    interrupted = true;
                    stopped = true;
                }
            }
            if (probe != null) {
                probe.event(queue.poppedHandler(), queue.poppedCode(), true);
            }
            begin(queue.poppedSeq());
            queue.poppedHandler().onEvent(queue.poppedCode(), queue.poppedArg());
            while (nextHandler != null && !runContinuation()) {
                // the continuation ran and asked for another one
            }
        }
        publishedNow = now;
        publishedEvents = events;
        if (interruptRequested) {
            interrupted = true;
            stopped = true;
        }
        return false;
    }
}
