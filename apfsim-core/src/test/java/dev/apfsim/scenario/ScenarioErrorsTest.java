package dev.apfsim.scenario;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of scenario error names file, line, column and field, on one line. */
class ScenarioErrorsTest {

    private static ScenarioException error(String yaml) {
        ScenarioException e = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("bad.yaml", yaml));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    private static void assertAt(ScenarioException e, int line, int column, String field) {
        assertEquals("bad.yaml", e.source(), e.getMessage());
        assertEquals(line, e.line(), e.getMessage());
        assertEquals(column, e.column(), e.getMessage());
        assertEquals(field, e.field(), e.getMessage());
        String prefix = "bad.yaml:" + line + ":" + column + ": " + (field == null ? "" : "field " + field + ": ");
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        assertEquals(prefix + e.detail(), e.getMessage());
    }

    @Test
    void badUnitMessageHasTheDocumentedShape() {
        ScenarioException e = error("""
                name: x
                seed: 3
                host:
                 swap:
                  latency:
                    type: lognormal
                    median: fast
                """);
        assertAt(e, 7, 13, "host.swap.latency.median");
        assertTrue(e.getMessage().startsWith(
                "bad.yaml:7:13: field host.swap.latency.median: expected a duration like 50us, got \"fast\""),
                e.getMessage());
    }

    @Test
    void unknownKey() {
        ScenarioException e = error("vm:\n  vcpu: 2\n");
        assertAt(e, 2, 3, "vm.vcpu");
        assertEquals("bad.yaml:2:3: field vm.vcpu: unknown field (did you mean \"vcpus\"? fields of vm: vcpus, "
                + "memory)", e.getMessage());
        assertAt(error("seed: 1\nworkloads: {}\n"), 2, 1, "workloads");
        assertAt(error("host:\n  policy:\n    erorr_policy: ignore\n"), 3, 5, "host.policy.erorr_policy");
        assertTrue(error("host:\n  policy:\n    erorr_policy: ignore\n").getMessage()
                .contains("did you mean \"error_policy\""));
    }

    @Test
    void unknownKeyForTheVariant() {
        ScenarioException e = error("host:\n  swap:\n    latency: {type: lognormal, mean: 5us}\n");
        assertAt(e, 3, 32, "host.swap.latency.mean");
        assertTrue(e.detail().contains("lognormal") && e.detail().contains("median, p99"), e.getMessage());
        ScenarioException t = error("""
                workload:
                  tasks:
                    - type: script
                      name: s
                      compute: 5us
                """);
        assertAt(t, 5, 7, "workload.tasks[0].compute");
        assertTrue(t.detail().startsWith("unknown field for a script task"), t.getMessage());
    }

    @Test
    void duplicateKey() {
        ScenarioException e = error("name: a\nseed: 2\nname: b\n");
        assertAt(e, 3, 1, "name");
        assertEquals("field given twice (first given at line 1)", e.detail());
    }

    @Test
    void wrongType() {
        assertEquals("bad.yaml:2:10: field vm.vcpus: expected an integer, got a list",
                error("vm:\n  vcpus: [1, 2]\n").getMessage());
        assertAt(error("host: 5\n"), 1, 7, "host");
        assertAt(error("host: {async_pf: yes}\n"), 1, 18, "host.async_pf");
        assertEquals("expected true or false, got \"yes\"", error("host: {async_pf: yes}\n").detail());
        assertAt(error("workload: {tasks: {a: 1}}\n"), 1, 19, "workload.tasks");
        assertAt(error("workload:\n  tasks:\n    - just-a-word\n"), 3, 7, "workload.tasks[0]");
        assertAt(error("description: {a: 1}\n"), 1, 14, "description");
        assertAt(error("vm:\n  vcpus:\n"), 2, 9, "vm.vcpus");
        assertEquals("expected an integer, got nothing", error("vm:\n  vcpus:\n").detail());
        assertAt(error("- a\n- b\n"), 1, 1, null);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "vm: {vcpus: 300}|1|13|vm.vcpus|expected an integer from 1 to 256, got 300",
            "vm: {vcpus: 0}|1|13|vm.vcpus|expected an integer from 1 to 256, got 0",
            "vm: {memory: 512KiB}|1|14|vm.memory|expected a size from 1MiB to 1TiB, got 512KiB",
            "vm: {memory: 2TiB}|1|14|vm.memory|expected a size from 1MiB to 1TiB, got 2TiB",
            "vm: {memory: 1000000000}|1|14|vm.memory|"
                    + "expected a multiple of 4KiB (4096 bytes), got 1000000000 = 1000000000 bytes",
            "livelock_retries: 0|1|19|livelock_retries|expected an integer of at least 1, got 0",
            "duration: 0s|1|11|duration|expected a duration of at least 1ns, got 0s",
            "guest: {apf_vector: 256}|1|21|guest.apf_vector|expected an integer from 0 to 255, got 256",
            "guest: {apf: custom, en_bits: 0x40}|1|31|guest.en_bits|expected an integer from 0 to 63, got 0x40",
            "host: {apf_id_start: 0x100000}|1|22|host.apf_id_start|expected an integer from 0 to 1048575, got 0x100000",
            "check: {perturb: [irq-off, lapic-of]}|1|28|check.perturb[1]|expected one of irq-off, lapic-off, pg-toggle, "
                    + "msr-reenable, reset, regular-pf, nested, cr3-switch, migrate, irq-storm, nmi, cpu-offline, cpu-online, got \"lapic-of\" (did you mean \"lapic-off\"?)",
            "check: {jitter: 2}|1|17|check.jitter|expected a relative jitter from 0 to 1, got 2",
            "check: {fairness: fair}|1|19|check.fairness|expected one of none, weak, strong, got \"fair\"",
            "liveness_bound: 0|1|17|liveness_bound|expected a duration of at least 1ns, got 0",
            "host: {swap: {queue_depth: 0}}|1|28|host.swap.queue_depth|expected an integer from 1 to 1000000, got 0",
            "host: {swap: {latency: {type: lognormal, median: 50us, p99: 40us}}}|1|61|host.swap.latency.p99|"
                    + "expected a p99 at least the median (50us), got 40us",
            "host: {swap: {latency: {type: exponential, mean: 0}}}|1|50|host.swap.latency.mean|"
                    + "expected a duration of at least 1ns, got 0",
            "host: {policy: {prefault: sometimes}}|1|27|host.policy.prefault|"
                    + "expected one of same-context, any-context, got \"sometimes\"",
            "memory: {failures: [{kind: sigbus, start: 0, fraction: 1.5}]}|1|56|memory.failures[0].fraction|"
                    + "expected a fraction from 0 to 1, got 1.5",
            "memory: {failures: [{kind: meltdown, start: 0}]}|1|28|memory.failures[0].kind|"
                    + "expected one of sigbus, unmapped, hwpoison, never, spurious-wake, zero-fill, got \"meltdown\"",
            "memory: {regions: [{start: 0x1001, size: 4KiB, state: swapped}]}|1|28|memory.regions[0].start|"
                    + "expected a 4KiB-aligned address, got 0x1001",
    })
    void outOfRange(String yaml, int line, int col, String field, String detail) {
        ScenarioException e = error(yaml);
        assertAt(e, line, col, field);
        if (detail.endsWith(" ... ")) {
            assertTrue(e.detail().startsWith(detail.substring(0, detail.length() - 5)), e.getMessage());
        } else {
            assertEquals(detail, e.detail());
        }
    }

    @Test
    void badUnits() {
        assertAt(error("vm: {memory: 64MB}\n"), 1, 14, "vm.memory");
        assertTrue(error("vm: {memory: 64MB}\n").detail().contains("ambiguous"));
        assertAt(error("duration: 5 sec\n"), 1, 11, "duration");
        assertAt(error("guest:\n  tick: 1.5\n"), 2, 9, "guest.tick");
        assertAt(error("host: {costs: {vm_exit: 0.5ns}}\n"), 1, 25, "host.costs.vm_exit");
        assertAt(error("seed: 1.5\n"), 1, 7, "seed");
        assertEquals("expected an integer (decimal or 0x hex), got \"1.5\"", error("seed: 1.5\n").detail());
        ScenarioException lat = error("host:\n  remote:\n    latency: fsat\n");
        assertAt(lat, 3, 14, "host.remote.latency");
        assertTrue(lat.detail().contains("nvme, ssd, sata-ssd, hdd, zswap, postcopy-10gbe"), lat.getMessage());
        ScenarioException pts = error("host: {swap: {latency: {type: empirical, points: [[1us, 0.5], [2us, 0.9]]}}}");
        assertAt(pts, 1, 69, "host.swap.latency.points[1][1]");
        assertEquals("expected the last cumulative probability to be 1.0, got 0.9", pts.detail());
        assertAt(error("host: {swap: {latency: {type: empirical, points: [[2us, 0.5], [1us, 1.0]]}}}"), 1, 64,
                "host.swap.latency.points[1][0]");
        assertAt(error("host: {swap: {latency: {type: empirical, points: [[1us, 0], [2us, 0], [3us, 1]]}}}"), 1,
                67, "host.swap.latency.points[1][1]");
        assertAt(error("host: {swap: {latency: {type: empirical, points: [1us]}}}"), 1, 51,
                "host.swap.latency.points[0]");
    }

    @Test
    void missingRequiredFields() {
        ScenarioException e = error("memory:\n  regions:\n    - {start: 0, state: swapped}\n");
        assertAt(e, 3, 7, "memory.regions[0].size");
        assertTrue(e.detail().startsWith("missing required field"), e.getMessage());
        assertAt(error("host: {swap: {latency: {value: 5us, mean: 3us}}}\n"), 1, 24, "host.swap.latency.type");
        assertAt(error("workload: {tasks: [{type: statistical, name: a, touches_per_op: 0, compute: {}}]}\n"), 1, 77,
                "workload.tasks[0].compute.type");
        assertAt(error("workload: {tasks: [{type: statistical, name: a, touches_per_op: 0, "
                + "compute: {type: lognormal, median: 1us}}]}\n"), 1, 77, "workload.tasks[0].compute.p99");
        assertAt(error("workload:\n  tasks:\n    - {type: script}\n"), 3, 7, "workload.tasks[0].name");
        assertAt(error("workload:\n  tasks:\n    - {name: x}\n"), 3, 7, "workload.tasks[0].type");
        assertAt(error("workload:\n  tasks:\n    - {type: statistical, name: x, working_set: {size: 4KiB}}\n"),
                3, 7, "workload.tasks[0].compute");
        ScenarioException ws = error("workload:\n  tasks:\n    - {type: statistical, name: x, compute: 1us}\n");
        assertAt(ws, 3, 7, "workload.tasks[0].working_set");
        assertTrue(ws.detail().contains("touches_per_op: 0"), ws.getMessage());
        assertAt(error("memory: {failures: [{kind: never}]}\n"), 1, 21, "memory.failures[0].start");
    }

    @Test
    void yamlSyntaxErrors() {
        ScenarioException indent = error("vm:\n  vcpus: 1\n memory: 1GiB\n");
        assertAt(indent, 3, 2, null);
        assertTrue(indent.detail().startsWith("YAML syntax error: "), indent.getMessage());
        ScenarioException flow = error("vm: {vcpus: 1\nseed: 2\n");
        assertTrue(flow.line() >= 1 && flow.column() >= 1, flow.getMessage());
        assertTrue(flow.getMessage().startsWith("bad.yaml:" + flow.line() + ":" + flow.column()
                + ": YAML syntax error: "), flow.getMessage());
        ScenarioException tab = error("vm:\n\tvcpus: 1\n");
        assertAt(tab, 2, 1, null);
        assertTrue(tab.detail().contains("TAB"), tab.getMessage());
        assertAt(error("name: \"unterminated\n"), 2, 1, null);
        assertAt(error("seed: *nope\n"), 1, 7, null);
        assertTrue(error("a: 1\n---\nb: 2\n").detail().startsWith("YAML syntax error"));
    }

    @Test
    void crossFieldErrorsPointAtTheOffendingNode() {
        ScenarioException cpu = error("""
                vm: {vcpus: 2}
                workload:
                  tasks:
                    - {type: script, name: a, cpu: 1}
                    - type: script
                      name: b
                      cpu: 2
                """);
        assertAt(cpu, 7, 12, "workload.tasks[1].cpu");
        assertEquals("expected a vCPU index from 0 to 1 (vm.vcpus is 2), got 2", cpu.detail());

        ScenarioException region = error("""
                vm: {memory: 64MiB}
                memory:
                  regions:
                    - {start: 0x3ff0000, size: 128KiB, state: swapped}
                """);
        assertAt(region, 4, 32, "memory.regions[0].size");
        assertTrue(region.detail().contains("extends past the end of guest memory (vm.memory = 64MiB"),
                region.getMessage());

        assertAt(error("vm: {memory: 64MiB}\nmemory: {regions: [{start: 64MiB, size: 4KiB, state: remote}]}\n"),
                2, 28, "memory.regions[0].start");

        ScenarioException overlap = error("""
                memory:
                  regions:
                    - {start: 0x100000, size: 1MiB, state: swapped}
                    - {start: 0x1ff000, size: 8KiB, state: remote}
                """);
        assertAt(overlap, 4, 15, "memory.regions[1].start");
        assertTrue(overlap.detail().contains("overlaps memory.regions[0]"), overlap.getMessage());

        assertAt(error("vm: {memory: 64MiB}\nhost: {memory_limit: 128MiB}\n"), 2, 22, "host.memory_limit");
        assertAt(error("vm: {memory: 64MiB}\nworkload:\n  tasks:\n"
                + "    - {type: statistical, name: a, compute: 1us, working_set: {start: 32MiB, size: 64MiB}}\n"),
                4, 84, "workload.tasks[0].working_set.size");
        ScenarioException touch = error("vm: {memory: 64MiB}\nworkload:\n  tasks:\n"
                + "    - {type: script, name: a, steps: [{touch: 0x4000000}]}\n");
        assertAt(touch, 4, 47, "workload.tasks[0].steps[0].touch");
        assertAt(error("memory: {failures: [{kind: never, start: 0, from: 2s, until: 1s}]}\n"), 1, 62,
                "memory.failures[0].until");
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: a}\n    - {type: script, name: a}\n"),
                4, 28, "workload.tasks[1].name");
    }

    @Test
    void scriptStepErrors() {
        ScenarioException typo = error("workload:\n  tasks:\n    - {type: script, name: s, steps: [cli, sti, hlat]}\n");
        assertAt(typo, 3, 49, "workload.tasks[0].steps[2]");
        assertTrue(typo.detail().contains("did you mean \"halt\""), typo.getMessage());
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: [{tuoch: 0x1000}]}\n"), 3, 40,
                "workload.tasks[0].steps[0].tuoch");
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: [{touch: 1, compute: 1us}]}\n"),
                3, 39, "workload.tasks[0].steps[0]");
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: [{wrmsr: {msr: foo, value: 1}}]}\n"),
                3, 53, "workload.tasks[0].steps[0].wrmsr.msr");
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: [{kernel: maybe}]}\n"),
                3, 48, "workload.tasks[0].steps[0].kernel");
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: [{repeat: {times: 0, steps: []}}]}\n"),
                3, 56, "workload.tasks[0].steps[0].repeat.times");
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: [{cli: 1}]}\n"),
                3, 45, "workload.tasks[0].steps[0].cli");
    }

    @Test
    void repeatExpansionIsCapped() {
        ScenarioException e = error("workload:\n  tasks:\n    - {type: script, name: s, steps: "
                + "[{repeat: {times: 1000, steps: [{repeat: {times: 1001, steps: [cli]}}]}}]}\n");
        assertAt(e, 3, 39, "workload.tasks[0].steps[0]");
        assertEquals("repeat expands the script to 1001000 steps, more than the limit of 1000000", e.detail());
        // huge counts fail fast without building anything
        assertAt(error("workload:\n  tasks:\n    - {type: script, name: s, steps: "
                + "[{repeat: {times: 2000000000, steps: [cli, sti]}}]}\n"), 3, 39, "workload.tasks[0].steps[0]");
    }

    @Test
    void fileErrorsHaveNoPosition() {
        ScenarioException e = assertThrows(ScenarioException.class,
                () -> ScenarioLoader.loadFile(java.nio.file.Path.of("/nonexistent/x.yaml")));
        assertEquals("/nonexistent/x.yaml: no such file", e.getMessage());
        assertEquals(0, e.line());
        assertNull(e.field());
    }

    @Test
    void overrideErrorsNameTheOverride() {
        ScenarioException e = assertThrows(ScenarioException.class,
                () -> ScenarioLoader.load("ok.yaml", "vm: {vcpus: 2}\n", List.of("vm.vcpus=0")));
        assertEquals("--set vm.vcpus=0: field vm.vcpus: expected an integer from 1 to 256, got 0", e.getMessage());
        assertEquals("vm.vcpus", e.field());
        assertEquals(0, e.line());
    }
}
