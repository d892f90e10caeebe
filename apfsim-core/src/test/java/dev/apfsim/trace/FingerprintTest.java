package dev.apfsim.trace;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The fingerprint hashes each event's binary record: every field counts, and no two streams encode alike. */
class FingerprintTest {
    static String of(List<? extends TraceEvent> events) {
        Fingerprint f = new Fingerprint();
        events.forEach(f::accept);
        return f.hex();
    }

    @Test
    void timesThatDifferBelowAMicrosecondDiffer() {
        // the ftrace text has microsecond timestamps; the record has the nanoseconds
        assertNotEquals(of(List.of(new TraceEvent.ApfHalt(1_000, 0, 5))), of(List.of(new TraceEvent.ApfHalt(1_001, 0, 5))));
    }

    @Test
    void everyFieldCounts() {
        TraceEvent.Msr base = new TraceEvent.Msr(10, 1, true, 0x4b564d02, 0x1, false);
        List<TraceEvent> variants = List.of(base, new TraceEvent.Msr(11, 1, true, 0x4b564d02, 0x1, false),
                new TraceEvent.Msr(10, 2, true, 0x4b564d02, 0x1, false),
                new TraceEvent.Msr(10, 1, false, 0x4b564d02, 0x1, false),
                new TraceEvent.Msr(10, 1, true, 0x4b564d03, 0x1, false),
                new TraceEvent.Msr(10, 1, true, 0x4b564d02, 0x2, false),
                new TraceEvent.Msr(10, 1, true, 0x4b564d02, 0x1, true));
        assertEquals(variants.size(), variants.stream().map(e -> of(List.of(e))).distinct().count());
    }

    @Test
    void eventsWithTheSameFieldsButDifferentNamesDiffer() {
        assertNotEquals(of(List.of(new TraceEvent.NotPresent(1, 0, 7, 0x1000))),
                of(List.of(new TraceEvent.Ready(1, 0, 7, 0x1000))));
    }

    @Test
    void stringsAreLengthPrefixedSoTheirBoundaryCounts() {
        assertNotEquals(of(List.of(new TraceEvent.Violation(1, 0, "ab", "c"))),
                of(List.of(new TraceEvent.Violation(1, 0, "a", "bc"))));
        assertNotEquals(of(List.of(new TraceEvent.Violation(1, 0, null, ""))),
                of(List.of(new TraceEvent.Violation(1, 0, "", ""))));
    }

    @Test
    void recordsAcrossBlockBoundariesAndStringsLongerThanABlockHashAsOneStream() {
        String longText = "x".repeat(40_000);
        List<TraceEvent> stream = IntStream.range(0, 5_000).mapToObj(i -> i % 1_000 == 7
                ? (TraceEvent) new TraceEvent.Violation(i, 0, "inv", longText + i)
                : new TraceEvent.GuestSwitch(i, i % 4, i, i + 1)).toList();
        assertEquals(of(stream), of(stream));
        List<TraceEvent> changed = new java.util.ArrayList<>(stream);
        changed.set(4_007, new TraceEvent.Violation(4_007, 0, "inv", longText + "y"));
        assertNotEquals(of(stream), of(changed));
        changed = new java.util.ArrayList<>(stream);
        changed.set(4_999, new TraceEvent.GuestSwitch(4_999, 3, 4_999, 0));
        assertNotEquals(of(stream), of(changed), "the last record counts (the block is drained at the end)");
    }
}
