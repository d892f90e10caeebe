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

    @Test
    void choiceSequencesAreRunLengthEncoded() {
        ChoiceSequence c = ChoiceSequence.parse("0*41, 2,0*7,1,0,0");
        assertEquals(50, c.length(), "trailing defaults dropped");
        assertEquals(2, c.at(41));
        assertEquals("0*41,2,0*7,1", c.toString());
        assertEquals(c, ChoiceSequence.parse(c.toString()));
    }
}
