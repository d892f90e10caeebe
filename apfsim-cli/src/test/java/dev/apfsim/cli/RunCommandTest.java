package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.TimeCategory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonHasTheDocumentedFields() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("run", yaml.toString(), "--json", "--seed", "7");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        JsonNode j = r.json();
        List<String> keys = new ArrayList<>();
        j.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("schema_version", "scenario", "seed", "apf", "simulated_ns", "events", "trace_events",
                "wall_ns", "events_per_wall_second", "outcome", "counters", "latencies", "tasks", "vcpus", "memory",
                "worker_busy_ns", "violations", "fingerprint"), keys,
                "top-level keys in the order docs/json.md documents (update the doc when RunResult changes); "
                        + "failure is absent when no worker GUP failed");
        assertEquals(1, j.get("schema_version").asInt());
        assertEquals("tiny", j.get("scenario").asText());
        assertEquals(7, j.get("seed").asLong());
        assertEquals("on", j.get("apf").asText());
        long simulated = j.get("simulated_ns").asLong();
        assertTrue(simulated > 0 && simulated <= 50_000_000L, "the task finishes early: " + simulated);
        assertTrue(j.get("events").asLong() > 0);
        assertEquals("ok", j.get("outcome").get("kind").asText());
        assertFalse(j.get("outcome").has("time_ns"), "null outcome fields are left out");
        for (Counter c : Counter.values()) {
            assertTrue(j.get("counters").has(c.key()), c.key());
        }
        assertTrue(j.get("counters").get("async_pf_started").asLong() > 0, "the tiny scenario faults asynchronously");
        for (String lat : List.of("fault_to_ready", "task_wait", "sync_fault")) {
            JsonNode l = j.get("latencies").get(lat);
            for (String k : List.of("count", "mean_ns", "p50_ns", "p99_ns", "p999_ns", "max_ns")) {
                assertTrue(l.get(k).isIntegralNumber(), lat + "." + k);
            }
        }
        JsonNode task = j.get("tasks").get(0);
        assertEquals("reader", task.get("name").asText());
        for (String k : List.of("id", "name", "cpu", "state", "ops", "ops_per_second", "user_ns", "kernel_ns",
                "apf_waits")) {
            assertTrue(task.has(k), "tasks[0]." + k);
        }
        assertEquals(4, task.get("ops").asLong());
        JsonNode vcpu = j.get("vcpus").get(0);
        assertEquals(0, vcpu.get("id").asInt());
        long total = 0;
        for (TimeCategory c : TimeCategory.values()) {
            total += vcpu.get("time_ns").get(c.key()).asLong();
        }
        assertEquals(simulated, total, "the vCPU time split covers the simulated time");
        for (String k : List.of("resident_pages", "evictions", "minor_faults", "swap_reads", "remote_reads",
                "failed_gups")) {
            assertTrue(j.get("memory").has(k), "memory." + k);
        }
        assertTrue(j.get("violations").isArray());
        assertTrue(j.get("fingerprint").asText().matches("[0-9a-f]{64}"));
    }

    @Test
    void sameSeedSameFingerprint() {
        Path yaml = Cli.write(dir, "busy.yaml", Cli.BUSY);
        String[] args = {"run", yaml.toString(), "--seed", "42", "--json"};
        JsonNode a = Cli.run(args).json();
        JsonNode b = Cli.run(args).json();
        assertEquals(a.get("fingerprint"), b.get("fingerprint"));
        assertEquals(a.get("counters"), b.get("counters"));
        assertEquals(a.get("tasks"), b.get("tasks"));
        assertEquals(a.get("latencies"), b.get("latencies"));
        JsonNode c = Cli.run("run", yaml.toString(), "--seed", "43", "--json").json();
        assertNotEquals(a.get("fingerprint"), c.get("fingerprint"), "another seed, another run");
    }

    @Test
    void humanTableFitsIn100Columns() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("run", yaml.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("scenario tiny "), r.out());
        assertTrue(r.out().contains("outcome: ok"), r.out());
        assertTrue(r.out().contains("fault_to_ready"), r.out());
        assertTrue(r.out().contains("reader"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("fingerprint [0-9a-f]{64}")), r.out());
        r.out().lines().forEach(l -> assertTrue(l.length() <= 100, "too wide: " + l));
    }

    @Test
    void quietPrintsOnlyTheOutcome() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("run", yaml.toString(), "--quiet");
        assertEquals(0, r.status(), r.err());
        assertEquals("outcome: ok", r.out().strip());
    }

    @Test
    void apfSwitchIsApplied() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        JsonNode sync = Cli.run("run", yaml.toString(), "--apf", "sync", "--json").json();
        assertEquals("sync", sync.get("apf").asText());
        assertEquals(0, sync.get("counters").get("async_pf_started").asLong());
        assertTrue(sync.get("counters").get("sync_faults_host_apf_off").asLong() > 0);
        assertTrue(sync.get("latencies").get("sync_fault").get("count").asLong() > 0);
    }

    @Test
    void overridesAndDurationAreApplied() {
        Path yaml = Cli.write(dir, "busy.yaml", Cli.BUSY);
        JsonNode j = Cli.run("run", yaml.toString(), "--set", "vm.vcpus=2", "--duration", "20ms", "--json").json();
        assertEquals(20_000_000L, j.get("simulated_ns").asLong());
        assertEquals(2, j.get("vcpus").size());
    }

    @Test
    void guestPanicIsAResultNotAnError() {
        Path yaml = Cli.write(dir, "panic.yaml", Cli.PANIC);
        Cli.Result r = Cli.run("run", yaml.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode o = r.json().get("outcome");
        assertEquals("guest_panic", o.get("kind").asText(), o.toString());
        assertTrue(o.get("message").asText().contains("kernel mode"), o.toString());
        assertTrue(o.has("time_ns") && o.has("vcpu"), o.toString());
        assertFalse(o.has("errno"), o.toString());
        Cli.Result human = Cli.run("run", yaml.toString());
        assertEquals(0, human.status(), human.err());
        assertTrue(human.out().contains("outcome: guest_panic"), human.out());
    }
}
