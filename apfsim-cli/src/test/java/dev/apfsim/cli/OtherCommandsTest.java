package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OtherCommandsTest {
    @TempDir
    Path dir;

    @Test
    void scenariosListsBuiltins() {
        Cli.Result r = Cli.run("scenarios");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().lines().count() >= 1, r.out());
        r.out().lines().forEach(l -> assertTrue(l.matches("[a-z0-9][a-z0-9-]*( {2,}\\S.*)?")
                || l.matches(" +variants: [a-z0-9-]+(, [a-z0-9-]+)*  \\(--variant NAME\\)"), l));
        assertTrue(r.out().contains("seed-001-page-ready"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.strip().startsWith("variants: old")), r.out());
    }

    @Test
    void compareApfOnOffAsJson() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("compare", yaml.toString(), "--apf", "on,off", "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode j = r.json();
        assertEquals("apf=on", j.get("base").asText());
        assertEquals(2, j.get("variants").size());
        assertEquals("apf=on", j.get("variants").get(0).get("label").asText());
        assertEquals("apf=off", j.get("variants").get(1).get("label").asText());
        assertEquals("off", j.get("variants").get(1).get("result").get("apf").asText());
        JsonNode rel = j.get("relative").get("apf=off");
        assertTrue(rel.has("total_ops"), rel.toString());
        assertTrue(rel.has("counters.async_pf_started"), rel.toString());
    }

    @Test
    void compareCrossProductTable() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("compare", yaml.toString(), "--apf", "on,sync", "--vary",
                "host.remote.latency=1ms,4ms");
        assertEquals(0, r.status(), r.err());
        // too wide for full labels in the header: numbered, with a legend that gives each run's simulated time
        assertTrue(r.out().contains("""
                #1 = apf=on host.remote.latency=1ms   (simulated 0.008148 s)
                #2 = apf=on host.remote.latency=4ms   (simulated 0.020148 s)
                #3 = apf=sync host.remote.latency=1ms   (simulated 0.008000 s)
                #4 = apf=sync host.remote.latency=4ms   (simulated 0.020000 s)
                """), r.out());
        String header = r.out().lines().filter(l -> l.startsWith("metric")).findFirst().orElseThrow();
        assertTrue(header.matches("metric +#1 +#2 +change +#3 +change +#4 +change"), header);
        assertTrue(r.out().contains("fault_to_ready p50"), r.out());
    }

    @Test
    void twoVariantsUseTheirLabelsAsHeaders() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("compare", yaml.toString(), "--vary", "host.remote.latency=1ms,4ms");
        assertEquals(0, r.status(), r.err());
        String header = r.out().lines().filter(l -> l.startsWith("metric")).findFirst().orElseThrow();
        assertTrue(header.matches("metric +host.remote.latency=1ms +host.remote.latency=4ms +change"), header);
        assertTrue(r.out().lines().anyMatch(l -> l.matches("fault_to_ready p50 +1\\.\\d+ ms +4\\.\\d+ ms +\\+\\d+.*%")),
                r.out());
        r.out().lines().forEach(l -> assertTrue(l.length() <= 100, "too wide: " + l));
    }

    @Test
    void compareResultsDoNotDependOnParallelism() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        JsonNode a = Cli.run("compare", yaml.toString(), "--apf", "on,off,sync", "--json", "--jobs", "1").json();
        JsonNode b = Cli.run("compare", yaml.toString(), "--apf", "on,off,sync", "--json", "--jobs", "3").json();
        for (int i = 0; i < 3; i++) {
            assertEquals(a.get("variants").get(i).get("result").get("fingerprint"),
                    b.get("variants").get(i).get("result").get("fingerprint"));
        }
        assertEquals(a.get("relative"), b.get("relative"));
    }

    /** --fairness none reports the cycle that starves the bystander; the default (weak) passes it over for a fair one. */
    @Test
    void checkFairnessDecidesWhichCycleIsALivelock() {
        Cli.Result none = Cli.run("check", "seed-004-error-loop", "--variant", "ignore", "--replay", "0",
                "--fairness", "none");
        assertEquals(1, none.status(), none.err());
        assertTrue(none.out().contains("survives no fairness: bystander"), none.out());
        Cli.Result weak = Cli.run("check", "seed-004-error-loop", "--variant", "ignore", "--replay", "0");
        assertEquals(1, weak.status(), weak.err());
        assertTrue(weak.out().contains("survives weak and strong fairness"), weak.out());
        Cli.Result bad = Cli.run("check", "seed-004-error-loop", "--fairness", "fair");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--fairness: unknown fairness fair"), bad.err());
    }

    /** --max-events: the event-count watchdog stops a checked run at the same point on every machine. */
    @Test
    void checkMaxEventsStopsARunAsWatchdog() {
        Cli.Result r = Cli.run("check", "seed-001-page-ready", "--variant", "fixed", "--replay", "0",
                "--max-events", "1000");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.out().contains("VIOLATION watchdog"), r.out());
        Cli.Result bad = Cli.run("check", "seed-001-page-ready", "--max-events", "0");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--max-events must be at least 1"), bad.err());
    }
}
