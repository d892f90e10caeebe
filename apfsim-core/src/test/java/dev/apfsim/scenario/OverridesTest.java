package dev.apfsim.scenario;

import dev.apfsim.guest.Action;
import dev.apfsim.kvm.x86.X86Policy;
import dev.apfsim.memory.LatencyDistribution.Constant;
import dev.apfsim.memory.LatencyDistribution.Exponential;
import dev.apfsim.memory.LatencyDistribution.LogNormal;
import dev.apfsim.workload.TaskSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OverridesTest {

    private static final String BASE = """
            vm: {vcpus: 2, memory: 64MiB}
            host:
              swap: {latency: nvme}
            memory:
              regions:
                - {start: 0x300000, size: 12KiB, state: remote}
            workload:
              tasks:
                - type: statistical
                  name: app
                  compute: {type: exponential, mean: 20us}
                  working_set: {size: 16MiB}
                - type: script
                  name: reader
                  steps: [touch: 0x300000, touch: 0x301000]
            """;

    private static Scenario load(String... overrides) {
        return ScenarioLoader.load("base.yaml", BASE, List.of(overrides));
    }

    private static ScenarioException error(String... overrides) {
        ScenarioException e = assertThrows(ScenarioException.class, () -> load(overrides));
        assertTrue(e.getMessage().startsWith("--set "), e.getMessage());
        assertEquals(0, e.line());
        return e;
    }

    private static TaskSpec.Statistical app(Scenario s) {
        return (TaskSpec.Statistical) s.tasks().get(0);
    }

    @Test
    void replacesScalars() {
        Scenario s = load("vm.vcpus=4", "seed=0x10", "duration=250ms", "name=tuned");
        assertEquals(4, s.vcpus());
        assertEquals(16, s.seed());
        assertEquals(250 * Units.MS, s.durationNs());
        assertEquals("tuned", s.name());
    }

    @Test
    void listIndicesInBothSyntaxes() {
        assertEquals(new Exponential(10_000), app(load("workload.tasks.0.compute.mean=10us")).compute());
        assertEquals(new Exponential(10_000), app(load("workload.tasks[0].compute.mean=10us")).compute());
        assertEquals(1, load("workload.tasks[1].cpu=1").tasks().get(1).cpu());
        Scenario s = load("workload.tasks.1.steps.1.touch=0x302000", "memory.regions[0].state=swapped");
        assertEquals(List.of(new Action.Touch(0x300000, false), new Action.Touch(0x302000, false)),
                ((TaskSpec.Scripted) s.tasks().get(1)).steps());
        assertEquals(MemoryRegion.State.SWAPPED, s.regions().getFirst().state());
    }

    @Test
    void createsAbsentOptionalFields() {
        Scenario s = load("host.policy.error_policy=error-gfn", "host.remote.latency=zswap",
                "guest.apf_vector=0xee", "workload.tasks.0.pattern.zipfian=0.9", "host.costs.vm_exit=2us");
        assertEquals(X86Policy.ErrorPolicy.ERROR_GFN, s.kvm().policy().errorPolicy());
        assertEquals(new Constant(6000), s.remote().latency());
        assertEquals(0xee, s.guest().apfVector());
        assertEquals(new dev.apfsim.workload.Pattern.Zipfian(0.9), app(s).pattern());
        assertEquals(2000, s.kvm().costs().vmExitNs());
        // into an empty document
        Scenario e = ScenarioLoader.load("empty.yaml", "", List.of("host.swap.latency.type=constant",
                "host.swap.latency.value=3us"));
        assertEquals(new Constant(3000), e.swap().latency());
    }

    @Test
    void latencyFieldsKeepTheDefaultsTheyDoNotSet() {
        Scenario s = ScenarioLoader.load("empty.yaml", "", List.of("host.swap.latency.median=50us",
                "host.remote.latency.value=20ms"));
        assertEquals(new LogNormal(50_000, 120_000), s.swap().latency());
        assertEquals(new Constant(20_000_000), s.remote().latency());
        assertEquals(new LogNormal(30_000, 200_000),
                ScenarioLoader.load("empty.yaml", "", List.of("host.swap.latency.p99=200us")).swap().latency());
        // a median above the default p99 needs the p99 too
        ScenarioException e = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("empty.yaml", "",
                List.of("host.swap.latency.median=500us")));
        assertEquals("--set host.swap.latency.median=500us: field host.swap.latency.median: expected a median at "
                + "most the p99 (120us, the default; set p99 too), got 500us", e.getMessage());
        // a different type replaces the default entirely
        assertEquals(new Exponential(7_000), ScenarioLoader.load("empty.yaml", "",
                List.of("host.swap.latency.mean=7us")).swap().latency());
    }

    @Test
    void flowValuesReplaceWholeSubtrees() {
        Scenario s = load("host.swap.latency={type: lognormal, median: 40us, p99: 90us}",
                "memory.regions=[{start: 0, size: 1MiB, state: resident}]",
                "workload.tasks.1.steps=[cli, {compute: 1us}, sti]");
        assertEquals(new LogNormal(40_000, 90_000), s.swap().latency());
        assertEquals(List.of(new MemoryRegion(0, Units.MIB, MemoryRegion.State.RESIDENT)), s.regions());
        assertEquals(List.of(Action.CLI, new Action.Compute(1000), Action.STI),
                ((TaskSpec.Scripted) s.tasks().get(1)).steps());
    }

    @Test
    void indexEqualToLengthAppends() {
        Scenario s = load("memory.regions.1={start: 0x400000, size: 4KiB, state: swapped}",
                "workload.tasks.2={type: script, name: extra, steps: [halt]}");
        assertEquals(2, s.regions().size());
        assertEquals(new MemoryRegion(0x400000, 4096, MemoryRegion.State.SWAPPED), s.regions().get(1));
        assertEquals(new TaskSpec.Scripted("extra", 0, List.of(Action.HLT)), s.tasks().get(2));
        Scenario f = load("memory.failures.0.kind=sigbus", "memory.failures.0.start=0x300000");
        assertEquals(1, f.failures().size());
        assertEquals(0x300, f.failures().getFirst().firstGfn());
    }

    @Test
    void laterOverridesWinAndOverridesApplyBeforeValidation() {
        assertEquals(3, load("vm.vcpus=8", "vm.vcpus=3").vcpus());
        // the file alone is invalid (cpu 1 with one vCPU); the override makes it valid
        Scenario s = ScenarioLoader.load("f.yaml", "vm: {vcpus: 1}\nworkload: {tasks: [{type: script, name: a, cpu: 1}]}",
                List.of("vm.vcpus=2"));
        assertEquals(1, s.tasks().getFirst().cpu());
    }

    @Test
    void valuesAreYamlScalars() {
        assertEquals("", load("description=").description());
        assertEquals("a=b", load("name=a=b").name());
        assertEquals("two words", load("description=two words").description());
        assertEquals("'quoted'", load("description=\"'quoted'\"").description());
        assertEquals(" x", load("name=' x'").name());
    }

    @Test
    void unknownPath() {
        ScenarioException e = error("foo.bar=1");
        assertTrue(e.getMessage().startsWith("--set foo.bar=1: unknown field foo.bar ("), e.getMessage());
        assertEquals("--set foo.bar=1", e.source());
        ScenarioException typo = error("host.swapp.latency=1ms");
        assertTrue(typo.getMessage().startsWith("--set host.swapp.latency=1ms: unknown field host.swapp.latency "
                + "(did you mean \"swap\"?"), typo.getMessage());
        assertTrue(error("workload.tasks.0.colour=red").getMessage()
                .startsWith("--set workload.tasks.0.colour=red: unknown field workload.tasks[0].colour"));
        assertTrue(error("vm.vcpus.x=1").getMessage()
                .startsWith("--set vm.vcpus.x=1: unknown field vm.vcpus.x (vm.vcpus is a single value"));
    }

    @Test
    void shapeMismatches() {
        assertTrue(error("workload.tasks.name=x").detail().contains("workload.tasks is a list"));
        assertTrue(error("vm.0=1").detail().contains("vm is not a list"));
        ScenarioException scalar = error("host.swap.latency.median=1us");
        assertEquals("host.swap.latency", scalar.field());
        assertTrue(scalar.detail().contains("is \"nvme\""), scalar.getMessage());
        ScenarioException past = error("workload.tasks.5.cpu=1");
        assertEquals("workload.tasks[5]", past.field());
        assertTrue(past.detail().contains("it has 2 elements"), past.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"vm..vcpus=1", "=1", ".vm=1", "vm.=1", "vm.vcpus[x]=1", "vm.vcpus[1=1", "0.vm=1",
            "vm.vcp us=1", "[0]=1"})
    void badPathSyntax(String override) {
        ScenarioException e = error(override);
        assertNull(e.field());
        assertTrue(e.detail().contains("field path") || e.detail().contains("PATH"), e.getMessage());
    }

    @Test
    void missingEquals() {
        assertEquals("--set vm.vcpus: expected PATH=VALUE, like vm.vcpus=2 or workload.tasks.0.cpu=1",
                error("vm.vcpus").getMessage());
    }

    @Test
    void badValuesAreValidatedLikeFileValues() {
        assertEquals("--set vm.vcpus=abc: field vm.vcpus: expected an integer (decimal or 0x hex), got \"abc\"",
                error("vm.vcpus=abc").getMessage());
        assertEquals("--set workload.tasks.0.compute.mean=fast: field workload.tasks[0].compute.mean: "
                        + "expected a duration like 50us, got \"fast\" (units: ns, us, ms, s, min; a plain integer is ns)",
                error("workload.tasks.0.compute.mean=fast").getMessage());
        // a task created by an override still needs its required fields
        ScenarioException missing = error("workload.tasks.2.name=x");
        assertEquals("workload.tasks[2].type", missing.field());
        // cross-field checks see overridden values
        assertEquals("workload.tasks[1].cpu", error("workload.tasks.1.cpu=2").field());
        // errors located in the file keep their file position even with overrides present
        ScenarioException inFile = assertThrows(ScenarioException.class, () -> load("vm.memory=2MiB"));
        assertEquals("base.yaml", inFile.source());
        assertEquals(6, inFile.line());
        assertEquals(15, inFile.column());
        assertEquals("memory.regions[0].start", inFile.field());
    }

    @Test
    void yamlSyntaxErrorInValue() {
        ScenarioException e = error("host.swap.latency={type: constant");
        assertTrue(e.getMessage().startsWith("--set host.swap.latency={type: constant: YAML syntax error: "),
                e.getMessage());
    }
}
