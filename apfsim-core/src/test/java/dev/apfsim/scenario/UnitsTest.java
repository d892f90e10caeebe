package dev.apfsim.scenario;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnitsTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0",
            "7|7",
            "7ns|7",
            "50us|50000",
            "50µs|50000",
            "50μs|50000",
            "1.5ms|1500000",
            "0.5us|500",
            ".5us|500",
            "2s|2000000000",
            "1min|60000000000",
            "1.25min|75000000000",
            "50 us|50000",
            "' 3ms '|3000000",
            "1_000ns|1000",
            "+4us|4000",
            "9223372036854775807|9223372036854775807",
    })
    void durations(String text, long ns) {
        assertEquals(ns, Units.parseDuration(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "fast", "ms", "1.5", "1.5ns", "0.0001us", "5 sec", "5m", "5MS", "-5us", "1e3us",
            "0x10", "1__0us", "_1us", "9223372036854775808", "10000000000min", "1..5ms"})
    void badDurations(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Units.parseDuration(text));
        assertTrue(e.getMessage().startsWith("expected "), e.getMessage());
        assertTrue(e.getMessage().contains("got \"" + text + "\""), e.getMessage());
    }

    @Test
    void durationMessagesSayWhatIsWrong() {
        assertEquals("expected a duration like 50us, got \"fast\" (units: ns, us, ms, s, min; a plain integer is ns)",
                assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("fast")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("1.5ns")).getMessage()
                .contains("whole number of nanoseconds"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("1.5")).getMessage()
                .contains("needs a unit"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("-1ms")).getMessage()
                .contains("not negative"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("5sec")).getMessage()
                .contains("unknown unit \"sec\""));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0",
            "4096|4096",
            "4096B|4096",
            "4KiB|4096",
            "4K|4096",
            "64MiB|67108864",
            "64M|67108864",
            "1GiB|1073741824",
            "1G|1073741824",
            "1TiB|1099511627776",
            "2T|2199023255552",
            "1.5GiB|1610612736",
            "0.5KiB|512",
            "0x1000|4096",
            "0X10_0000|1048576",
            "12 KiB|12288",
    })
    void sizes(String text, long bytes) {
        assertEquals(bytes, Units.parseSize(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "lots", "1KB", "1MB", "1GB", "1kib", "1.5B", "0.1KiB", "-4KiB", "4 Ki", "0x", "0xg",
            "0x1_", "10000000TiB", "0x1ffffffffffffffff"})
    void badSizes(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Units.parseSize(text));
        assertTrue(e.getMessage().startsWith("expected "), e.getMessage());
    }

    @Test
    void decimalSiSizesAreRejectedAsAmbiguous() {
        String m = assertThrows(IllegalArgumentException.class, () -> Units.parseSize("64MB")).getMessage();
        assertTrue(m.contains("ambiguous") && m.contains("MiB"), m);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0",
            "42|42",
            "-3|-3",
            "0x4b564d02|1263947010",
            "0XFF|255",
            "1_000_000|1000000",
            "0xffffffffffffffff|-1",
            "0x8000000000000000|-9223372036854775808",
            "9223372036854775807|9223372036854775807",
            "-0x10|-16",
            "007|7",
    })
    void integers(String text, long v) {
        assertEquals(v, Units.parseInteger(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "1.0", "1e3", "4KiB", "0x", "9223372036854775808", "0x10000000000000000",
            "1_", "1__2", "--1"})
    void badIntegers(String text) {
        assertThrows(IllegalArgumentException.class, () -> Units.parseInteger(text));
    }

    @Test
    void addressesAcceptHexAndSizes() {
        assertEquals(0x300000, Units.parseAddress("0x300000"));
        assertEquals(3 * Units.MIB, Units.parseAddress("3MiB"));
        assertEquals(4096, Units.parseAddress("4096"));
        String m = assertThrows(IllegalArgumentException.class, () -> Units.parseAddress("here")).getMessage();
        assertEquals("expected an address like 0x300000 or 3MiB, got \"here\"", m);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0ns", "999|999ns", "1000|1us", "1500|1.5us", "1500000|1.5ms", "50000000|50ms", "1000000000|1s",
            "90000000000|1.5min", "1001|1.001us"})
    void formatDurationRoundTrips(long ns, String text) {
        assertEquals(text, Units.formatDuration(ns));
        assertEquals(ns, Units.parseDuration(text));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0B", "1000|1000B", "4096|4KiB", "67108864|64MiB", "1073741824|1GiB", "1099511627776|1TiB",
            "1610612736|1536MiB"})
    void formatSizeRoundTrips(long bytes, String text) {
        assertEquals(text, Units.formatSize(bytes));
        assertEquals(bytes, Units.parseSize(text));
    }

    @Test
    void quoteEscapesAndShortens() {
        assertEquals("\"a\\\"b\"", Units.quote("a\"b"));
        assertEquals("\"x\\ny\"", Units.quote("x\ny"));
        assertTrue(Units.quote("z".repeat(200)).endsWith("...\""));
    }
}
