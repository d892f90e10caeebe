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

    private record Held(TraceEvent event, long seq) implements Comparable<Held> {
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

    /** Appends the line for {@code e}, without the newline. */
    protected abstract void format(StringBuilder sb, TraceEvent e);

    @Override
    protected final void handle(TraceEvent e) throws IOException {
        if (clock == null) {
            writeLine(e);
            return;
        }
        long now = clock.getAsLong();
        if (held.isEmpty() && e.time() <= now) {
            writeLine(e); // the usual case: nothing held, nothing can come before it
            return;
        }
        held.add(new Held(e, emitted++));
        while (!held.isEmpty() && (held.peek().event().time() <= now || held.size() > MAX_HELD)) {
            writeLine(held.poll().event());
        }
    }

    private void writeLine(TraceEvent e) throws IOException {
        line.setLength(0);
        format(line, e);
        line.append('\n');
        write(line);
        lines++;
    }

    @Override
    protected final void finish() throws IOException {
        while (!held.isEmpty()) { // the run is over (or interrupted): whatever is held comes last, in order
            writeLine(held.poll().event());
        }
    }

    /** Lines written so far (all whole). */
    public final synchronized long lines() {
        return lines;
    }
}
