package dev.apfsim.scenario;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What {@link ScenarioWriter} writes, {@link ScenarioLoader} reads back to an equal scenario. */
class ScenarioRoundTripTest {

    private static void roundTrip(Scenario s) {
        String yaml = ScenarioWriter.toYaml(s);
        Scenario back;
        try {
            back = ScenarioLoader.load(s.name() + ".yaml", yaml);
        } catch (ScenarioException e) {
            throw new AssertionError(e.getMessage() + "\n--- written YAML:\n" + yaml, e);
        }
        assertEquals(s, back, yaml);
    }

    @Test
    void builtins() {
        for (String name : BuiltinScenarios.names()) {
            roundTrip(BuiltinScenarios.load(name));
        }
    }

    @Test
    void aScenarioUsingEveryField() {
        roundTrip(ScenarioLoader.load("full.yaml", """
                description: ''
                seed: -5
                liveness_bound: 3s
                vm: {vcpus: 3, memory: 256MiB}
                host:
                  memory_limit: 128MiB
                  tdp: false
                  apf_id_start: 0xfffff
                  policy: {page_ready_delivery: pf-legacy, error_policy: inject-error}
                  swap: {latency: {type: empirical, points: [[10us, 0.5], [1ms, 1.0]]}}
                  remote: {latency: postcopy-10gbe}
                memory:
                  regions: [{start: 1MiB, size: 1MiB, state: swapped}]
                  failures: [{kind: zero-fill, start: 0x200000, size: 8KiB, fraction: 0.5, from: 1ms, until: 2ms},
                             {kind: hwpoison, start: 0x300000}]
                guest: {apf: custom, en_bits: 0xb, pf_handler: return, scheduler: cfs}
                workload:
                  tasks:
                    - {type: statistical, name: s, count: 2, compute: {type: exponential, mean: 5us},
                       working_set: {size: 64MiB}, pattern: {hot_cold: {hot_fraction: 0.2, hot_probability: 0.8}},
                       write_fraction: 0.5, max_ops: 10}
                    - {type: statistical, name: c, cpu: 2, compute: 1ms, touches_per_op: 0, pattern: sequential}
                    - type: script
                      name: x
                      steps: [{wrmsr: {msr: en, value: 0xffffffffffffffff}}, {rdmsr: 0xffffffff}, cli, sti, halt,
                              init, {kernel: true}, {paging: false}, {lapic: false}, {write: 0x1000},
                              {touch: 0x2000}, {compute: 1us}, {sleep: 1ms}, {cr3: 0x9000}, {l2: true},
                              {regular_pf: 0x3000}]
                check: {schedule_seed: 3, perturbations: [{at: 1ms, cpu: 2, kind: nested, duration: 5us}],
                        perturb: [cr3-switch], max_perturbations: 2, jitter: 0.05}
                """, List.of()));
    }
}
