package dev.apfsim.trace;

import java.io.IOException;
import java.io.Writer;
import java.util.PriorityQueue;
import java.util.function.LongSupplier;

/**
 * A streaming sink that writes one text line per event (ftrace text, NDJSON): a cut file keeps whole lines.
 *
 * <p>Lines are written in simulated-time order, then emission order, when the writer knows the engine clock
 * ({@link #orderBy}): the guest runs inline ahead of the clock (up to the next event's time) and emits its events
 * before host events that happen earlier, so each event is held until the clock has reached its time — no event
 * emitted later can be earlier than the clock — and then written. At most {@link #MAX_HELD} events are held; past
 * that the earliest is written anyway (a run never holds that many: the guest's lead is one VM entry).
 */
public abstract class LineWriter extends StreamingSink {
    /** Bound of the reorder buffer. */
    public static final int MAX_HELD = 1 << 16;

    private final StringBuilder line = new StringBuilder(200);
    private long lines;
    private LongSupplier clock;
    private final PriorityQueue<Held> held = new PriorityQueue<>();
    private long emitted;

    /** The host CPU a vCPU's thread runs on now (the CPU column of its lines); vCPU i on CPU i until told. */
    private java.util.function.IntUnaryOperator placement = v -> v;

    private record Held(TraceEvent event, long seq, int hostCpu) implements Comparable<Held> {
        @Override
        public int compareTo(Held o) {
            int c = Long.compare(event.time(), o.event.time());
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    protected LineWriter(String what, Object name, Writer out) {
        super(what, name, out);
    }

    /**
     * Writes lines in (simulated time, emission) order, holding events until {@code clock} — the engine's clock,
     * which no later event precedes — has reached their time. Without it lines are written as emitted.
     */
    public final synchronized void orderBy(LongSupplier clock) {
        this.clock = clock;
    }

    /**
     * Where each vCPU thread runs, asked when an event arrives (a held event keeps the CPU it was emitted on).
     */
    public final synchronized void placeBy(java.util.function.IntUnaryOperator hostCpuOfVcpu) {
        this.placement = hostCpuOfVcpu;
    }

    /** Appends the line for {@code e}, without the newline; {@code hostCpu}: where its vCPU thread ran. */
    protected abstract void format(StringBuilder sb, TraceEvent e, int hostCpu);

    @Override
    protected final void handle(TraceEvent e) throws IOException {
        int hostCpu = placement.applyAsInt(Math.max(e.vcpu(), 0));
        if (clock == null) {
            writeLine(e, hostCpu);
            return;
        }
        long now = clock.getAsLong();
        if (held.isEmpty() && e.time() <= now) {
            writeLine(e, hostCpu); // the usual case: nothing held, nothing can come before it
            return;
        }
        held.add(new Held(e, emitted++, hostCpu));
        while (!held.isEmpty() && (held.peek().event().time() <= now || held.size() > MAX_HELD)) {
            Held h = held.poll();
            writeLine(h.event(), h.hostCpu());
        }
    }

    private void writeLine(TraceEvent e, int hostCpu) throws IOException {
        line.setLength(0);
        format(line, e, hostCpu);
        line.append('\n');
        write(line);
        lines++;
    }

    @Override
    protected final void finish() throws IOException {
        while (!held.isEmpty()) { // the run is over (or interrupted): whatever is held comes last, in order
            Held h = held.poll();
            writeLine(h.event(), h.hostCpu());
        }
    }

    /** Lines written so far (all whole). */
    public final synchronized long lines() {
        return lines;
    }
}
