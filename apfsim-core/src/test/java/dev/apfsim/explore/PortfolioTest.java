package dev.apfsim.explore;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The default portfolio: an exhaustive member first on a small scenario, then random and PCT runs. */
class PortfolioTest {
    private static Scenario variant(String name, String v) {
        return BuiltinScenarios.load(name, BuiltinScenarios.variants(name).get(v));
    }

    private static Explorer.Report portfolio(Scenario s, int runs, int jobs) throws Exception {
        return Explorer.explore(s, new Explorer.Options(Strategy.PORTFOLIO, runs, 1, jobs, 50, 3, 2, 20_000),
                n -> { });
    }

    @Test
    void aSmallScenarioGetsABoundedExhaustiveSearchFirst() throws Exception {
        Explorer.Report r = portfolio(variant("seed-001-page-ready", "fixed"), 200, 1);
        assertNull(r.finding());
        assertEquals(200, r.runsDone(), "the member's runs count among --runs");
        assertTrue(r.guarantee().startsWith("exhaustive member: bound 1"), r.guarantee());
        assertEquals(0, Explorer.exhaustiveMember(BuiltinScenarios.load("overcommit-ssd", List.of()), 200),
                "four vCPUs: random and PCT only");
    }

    @Test
    void theFirstViolationIsTheLowestRunIndexWhateverTheThreadCount() throws Exception {
        Scenario s = variant("seed-003-prefault", "old");
        Explorer.Report one = portfolio(s, 2_000, 1);
        Explorer.Report two = portfolio(s, 2_000, 2);
        assertNotNull(one.finding());
        assertTrue(one.finding().runIndex() >= Explorer.exhaustiveMember(s, 2_000), "past the member's runs: "
                + one.finding().runIndex());
        assertEquals(one.finding().runIndex(), two.finding().runIndex());
        assertEquals(one.finding().minimal().scenario().check().choices(),
                two.finding().minimal().scenario().check().choices());
    }

    @Test
    void aTraceThatWillNotShrinkIsReplacedByALaterViolatingRunsWhateverTheThreadCount() throws Exception {
        Scenario s = variant("seed-002-arm64", "old");
        Explorer.Options one = new Explorer.Options(Strategy.PORTFOLIO, 2_000, 1, 1, 300, 3, 2, 20_000);
        Explorer.Report r = Explorer.explore(s, one, n -> { });
        Explorer.Report two = Explorer.explore(s, new Explorer.Options(Strategy.PORTFOLIO, 2_000, 1, 2, 300, 3, 2,
                20_000), n -> { });
        // the first violating run's own trace stays long when shrunk: a later one's is shown, and it is short
        Explorer.Report alone = Explorer.explore(s, new Explorer.Options(Strategy.PORTFOLIO, (int) r.finding()
                .runIndex() + 1, 1, 1, 300, 3, 2, 20_000), n -> { });
        assertTrue(alone.finding().minimal().protocolEvents() > Explorer.LONG_TRACE,
                "with no later run to try: " + alone.finding().minimal().protocolEvents() + " events");
        assertTrue(r.finding().tracedIndex() > r.finding().runIndex());
        assertTrue(r.finding().minimal().protocolEvents() <= Explorer.LONG_TRACE);
        assertTrue(r.finding().minimal().violates(r.finding().violation().invariant()));
        assertEquals(r.finding().runIndex(), two.finding().runIndex());
        assertEquals(r.finding().tracedIndex(), two.finding().tracedIndex());
        assertEquals(r.finding().minimal().scenario().check().choices(),
                two.finding().minimal().scenario().check().choices());
        assertTrue(r.finding().shrinkAttempts() <= 300, "within the shrink budget");
    }

    @Test
    void aViolationOfTheScenariosOwnRunIsTheMembersRunZero() throws Exception {
        Explorer.Report r = portfolio(variant("seed-001-page-ready", "old"), 200, 2);
        assertNotNull(r.finding());
        assertEquals(0, r.finding().runIndex());
    }
}
