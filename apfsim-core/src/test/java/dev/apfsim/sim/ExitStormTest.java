package dev.apfsim.sim;

import dev.apfsim.check.Violation;
import dev.apfsim.scenario.ScenarioLoader;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The busy HLT of 2f15d027c05f's disabled-LAPIC case, as {@code exit-storm}: a page-ready the software-disabled
 * LAPIC dropped leaves its token in the slot, so {@code apf_pageready_slot_free} never holds again; the next
 * completion stays on the done list, {@code kvm_vcpu_has_events} sees it, and every HLT returns at once.
 */
class ExitStormTest {
    private static final String LOOP = """
            name: busy-hlt
            duration: 200ms
            vm: {vcpus: 1, memory: 64MiB}
            host:
              remote: {latency: 1ms}
              policy: {lapic_disabled_fix: false}   # before 2f15d027c05f
            memory:
              regions: [{start: 0x300000, size: 8KiB, state: remote}]
            guest: {tick: 0}
            check:
              perturbations: [{at: 500us, kind: lapic-off, duration: 1ms}]   # over the page-ready at 1.03 ms
            workload:
              tasks:
                - {type: script, name: reader, steps: [touch: 0x300000]}
                - {type: script, name: late, steps: [compute: 2ms, touch: 0x301000]}   # completes onto the done list
            """;

    @Test
    void aHltThatReturnsAtOnceIsAnExitStormLongBeforeAHundredThousandHlts() {
        SimRun r = SimRun.of(ScenarioLoader.load("busy-hlt.yaml", LOOP));
        List<Violation> v = r.machine.monitor().violations();
        assertEquals(List.of("page-ready-dropped", "exit-storm", "hlt-busy-loop"),
                v.stream().map(x -> x.invariant().key()).toList(), v.toString());
        Violation storm = v.get(1);
        assertTrue(storm.detail().startsWith("20000 exits in 23.999 simulated ms"), storm.detail());
        assertTrue(storm.detail().contains("exits/s") && storm.detail().endsWith("with no progress"), storm.detail());
        // the loop starts at about 3 ms; 20,000 exits of 1.2 us come five times sooner than 100,000 HLTs
        assertTrue(storm.timeNs() < 30_000_000 && v.get(2).timeNs() > 4 * storm.timeNs(), v.toString());
    }

    @Test
    void withTheFixTheHltBlocksAndNothingStorms() {
        SimRun r = SimRun.of(ScenarioLoader.load("busy-hlt.yaml", LOOP.replace("lapic_disabled_fix: false",
                "lapic_disabled_fix: true")));
        assertEquals(List.of(), r.machine.monitor().violations());
    }
}
