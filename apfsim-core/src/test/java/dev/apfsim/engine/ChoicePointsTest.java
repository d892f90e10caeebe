package dev.apfsim.engine;

import dev.apfsim.check.ChoiceSequence;
import dev.apfsim.check.ControlledChoices;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model's nondeterministic decisions all go through {@link Choices}; the default is the scenario's own run. */
class ChoicePointsTest {
    private static Scenario scenario(String name, String variant) {
        return BuiltinScenarios.load(name, variant == null ? java.util.List.of()
                : BuiltinScenarios.variants(name).get(variant));
    }

    /** Every choice point answered with alternative 0 and exact costs is the plain run: same fingerprint. */
    @ParameterizedTest
    @ValueSource(strings = {"seed-001-page-ready", "seed-003-prefault", "seed-004-many-failing", "kvm-forum-2010"})
    void firstAlternativeEverywhereIsThePlainRun(String name) {
        Scenario s = scenario(name, null).withDuration(50_000_000);
        String plain = new Machine(s).run().fingerprint();
        ControlledChoices c = new ControlledChoices(ChoiceSequence.NONE, Map.of(), ControlledChoices.DEFAULTS);
        assertEquals(plain, new Machine(s, c).run().fingerprint());
        assertTrue(c.steps() > 0, "the run asked its choice points");
    }

    /** The recorded decisions of a randomly steered run replay it exactly (what a reproducer's choices hold). */
    @Test
    void recordedDecisionsReplayTheRun() {
        Scenario s = scenario("seed-004-many-failing", "error-gfn").withDuration(20_000_000);
        SplittableRandom r = new SplittableRandom(7);
        Map<Choices.Cost, Integer> levels = new EnumMap<>(Choices.Cost.class);
        levels.put(Choices.Cost.DEVICE_LATENCY, -4);
        ControlledChoices random = new ControlledChoices(ChoiceSequence.NONE, levels, (p, n, ids, step) -> r.nextInt(n));
        String steered = new Machine(s, random).run().fingerprint();
        assertNotEquals(new Machine(s).run().fingerprint(), steered, "other decisions, another run");
        Scenario replay = s.withCheck(s.check().withChoices(random.taken(), levels));
        assertEquals(steered, new Machine(replay).run().fingerprint());
    }

    /**
     * {@code kvm_vcpu_kick}'s IPI lands at an instruction boundary of the guest, and the next entry injects
     * ({@code vcpu_enter_guest} → {@code kvm_check_and_inject_events}): with {@code irq-boundary} alternative k the
     * page-ready interrupt is taken at the k-th next boundary of the running task's
     * {@code [compute: 10us, touch: A, touch: B]} loop — 0 inside the compute, 1 when it ends (before A), 2 between
     * A and B, 3 after B — the last three at the same simulated instant, since a touch of a mapped page takes no time.
     */
    @Test
    void kvmVcpuKickIsTakenAtTheChosenInstructionBoundary() {
        StringBuilder loop = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            loop.append("compute: 10us, touch: 0x400000, touch: 0x401000, ");
        }
        Scenario s = dev.apfsim.scenario.ScenarioLoader.load("irq-boundary.yaml", dev.apfsim.sim.TestScenarios
                .remotePageYaml("{type: script, name: faulter, steps: [touch: 0x300000]}",
                        "{type: script, name: busy, steps: [%scompute: 1us]}".formatted(loop)));
        long[] time = new long[4];
        int[] position = new int[4];
        for (int k = 0; k < 4; k++) {
            int alt = k;
            int[] asked = {0};
            ControlledChoices c = new ControlledChoices(ChoiceSequence.NONE, Map.of(), (p, n, ids, step) -> {
                if (p != Choices.Point.IRQ_BOUNDARY) {
                    return 0;
                }
                asked[0]++;
                assertEquals(6, n, "now, three boundaries of the guest's own, two inside a compute");
                return alt;
            });
            Machine m = new Machine(s, c);
            m.attach(dev.apfsim.trace.TraceSink.everything(e -> {
                if (e instanceof dev.apfsim.trace.TraceEvent.GuestApfWake w && w.token() != 0xffffffffL
                        && time[alt] == 0) {
                    time[alt] = w.time();
                    position[alt] = m.guest().tasks().get(1).programPosition();
                }
            }));
            m.run();
            assertTrue(asked[0] > 0, "the page-ready kick found the vCPU in guest mode");
            assertTrue(time[alt] > 0, "the sleeper was woken");
        }
        // steps fetched when the handler runs: compute i is step 3i, touch A 3i+1, touch B 3i+2
        assertEquals(1, position[0] % 3, "0: inside the compute");
        assertEquals(1, position[1] % 3, "1: the compute retired, touch A not yet fetched");
        assertEquals(2, position[2] % 3, "2: between touch A and touch B");
        assertEquals(0, position[3] % 3, "3: after touch B");
        assertEquals(position[1], position[2] - 1, "the same loop iteration");
        assertEquals(position[1], position[3] - 2, "the same loop iteration");
        assertTrue(time[0] < time[1], "0 takes it mid-compute, before the compute's end");
        assertEquals(time[1], time[2], "a boundary, not a delay: the touches take no time");
        assertEquals(time[1], time[3], "a boundary, not a delay: the touches take no time");
    }

    @Test
    void choiceSequencesAreRunLengthEncoded() {
        ChoiceSequence c = ChoiceSequence.parse("0*41, 2,0*7,1,0,0");
        assertEquals(50, c.length(), "trailing defaults dropped");
        assertEquals(2, c.at(41));
        assertEquals("0*41,2,0*7,1", c.toString());
        assertEquals(c, ChoiceSequence.parse(c.toString()));
    }
}
