package dev.apfsim.explore;

import dev.apfsim.check.CheckSpec;
import dev.apfsim.check.Invariant;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.scenario.ScenarioWriter;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-run watchdog of {@code check} counts engine events ({@code check.max_events}), so a model that hangs is
 * stopped at the same point on every machine; the wall-time watchdog stays as a backstop.
 */
class EventWatchdogTest {
    private static Scenario scenario(String check) {
        return ScenarioLoader.load("w.yaml", """
                name: w
                duration: 100ms
                vm: {vcpus: 1, memory: 64MiB}
                host: {remote: {latency: 1ms}}
                memory: {regions: [{start: 0x300000, size: 64KiB, state: remote}]}
                %s
                workload:
                  tasks:
                    - {type: script, name: r, steps: [%s]}
                """.formatted(check, java.util.stream.IntStream.range(0, 16)
                .mapToObj(i -> "touch: 0x" + Long.toHexString(0x300000 + 0x1000L * i) + ", compute: 10us")
                .collect(java.util.stream.Collectors.joining(", "))));
    }

    @Test
    void aRunBeyondMaxEventsIsAWatchdogViolationWithTheCount() {
        Scenario s = scenario("check: {max_events: 40}");
        RunCase r = RunCase.run(s, false);
        assertTrue(r.violates(Invariant.WATCHDOG), String.valueOf(r.violation()));
        assertTrue(r.violation().detail().startsWith("the run took 40 events (queued and inline) by 0.00"),
                r.violation().detail());
        assertEquals(r.violation(), RunCase.run(s, false).violation(), "the same stop on every run");
        assertTrue(ScenarioWriter.toYaml(s).contains("max_events: 40"));
    }

    @Test
    void theDefaultBoundIsFarAboveARun() {
        Scenario s = scenario("");
        assertEquals(CheckSpec.DEFAULT_MAX_EVENTS, s.check().maxEvents());
        assertNull(RunCase.run(s, false).violation());
    }
}
