package dev.apfsim.report;

import dev.apfsim.trace.TraceEvent;

import java.io.IOException;
import java.util.List;

/**
 * How a {@link Timeline} is written: Perfetto's JSON trace-event format or its protobuf TracePacket stream. Calls
 * come in the order the file must have them: tracks are announced before their first event, and each track's
 * events are in time order.
 */
interface TimelineEncoder {
    /** The start of the file. */
    void start() throws IOException;

    /** A process (a group of tracks): the VM, the host workers, the backing device. */
    void process(int pid, String name, int sort) throws IOException;

    /** A thread track in process {@code track.pid}. */
    void thread(Timeline.Track track, String name, int sort) throws IOException;

    /** A state slice begins; {@code args} may be null. */
    void begin(Timeline.Track track, long ts, String name, String category, List<Timeline.Arg> args)
            throws IOException;

    /** The innermost open slice on {@code track} ends. */
    void end(Timeline.Track track, long ts) throws IOException;

    /**
     * An instant on {@code track} (the global track when {@link Timeline.Track#global()}) with {@code event}'s own
     * fields as arguments; it starts flow {@code flowOut} and/or ends flow {@code flowIn} (0: none).
     */
    void instant(Timeline.Track track, long ts, String name, TraceEvent event, long flowOut, long flowIn)
            throws IOException;

    /** A new value of a counter. */
    void counter(Timeline.CounterTrack counter, long ts, long value) throws IOException;

    /** The end of the file. */
    void finish(String title) throws IOException;

    /** Event fields shown in hex (tokens, addresses, MSRs). */
    java.util.Set<String> HEX = java.util.Set.of("token", "gva", "gfn", "address", "msr", "data");
}
