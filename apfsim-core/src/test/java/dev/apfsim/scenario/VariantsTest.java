package dev.apfsim.scenario;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantsTest {
    private static final String TEXT = """
            vm: {vcpus: 2}
            variants:
              old: [host.policy.token_wrap_fix=false, "guest.apf=linux-legacy"]
              fixed: []
              none:
            """;

    @Test
    void variantsAreListedInFileOrder() {
        Map<String, List<String>> v = ScenarioLoader.variants("v.yaml", TEXT);
        assertEquals(List.of("old", "fixed", "none"), List.copyOf(v.keySet()));
        assertEquals(List.of("host.policy.token_wrap_fix=false", "guest.apf=linux-legacy"), v.get("old"));
        assertEquals(List.of(), v.get("fixed"));
        assertEquals(Map.of(), ScenarioLoader.variants("x.yaml", "seed: 1\n"));
    }

    @Test
    void aScenarioWithVariantsLoadsAndEachVariantIsAnOverrideList() {
        Scenario base = ScenarioLoader.load("v.yaml", TEXT);
        assertTrue(base.kvm().policy().tokenWrapFix());
        Scenario old = ScenarioLoader.load("v.yaml", TEXT, ScenarioLoader.variants("v.yaml", TEXT).get("old"));
        assertEquals(false, old.kvm().policy().tokenWrapFix());
    }

    @Test
    void aBadVariantIsReportedAtItsEntry() {
        ScenarioException path = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml",
                "variants:\n  old: [host.policy.token_wrap=false]\n"));
        assertEquals("v.yaml", path.source());
        assertEquals(2, path.line());
        assertEquals(9, path.column());
        assertEquals("variants.old[0]", path.field());
        assertTrue(path.detail().startsWith("unknown field host.policy.token_wrap"), path.getMessage());

        ScenarioException value = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml",
                "variants:\n  old:\n    - seed=2\n    - vm.vcpus=0\n"));
        assertEquals("v.yaml:4:7: field variants.old[1]: field vm.vcpus: expected an integer from 1 to 256, got 0",
                value.getMessage());

        ScenarioException cross = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml",
                "vm: {vcpus: 2}\nworkload: {tasks: [{type: script, name: a, cpu: 1}]}\n"
                        + "variants:\n  one: [vm.vcpus=1]\n"));
        assertEquals("variants.one", cross.field());
        assertTrue(cross.detail().contains("workload.tasks[0].cpu"), cross.getMessage());

        ScenarioException shape = assertThrows(ScenarioException.class, () -> ScenarioLoader.load("v.yaml",
                "variants:\n  old: [just-words]\n"));
        assertEquals("v.yaml:2:9: field variants.old[0]: expected an override PATH=VALUE like "
                + "host.policy.token_wrap_fix=false, got \"just-words\"", shape.getMessage());
        assertEquals("variants", assertThrows(ScenarioException.class,
                () -> ScenarioLoader.load("v.yaml", "variants: [a=1]\n")).field());
    }

    @Test
    void scenariosVariantsResolvesNamesAndFiles(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        assertEquals(Map.of(), Scenarios.variants("example-minimal"));
        java.nio.file.Path f = dir.resolve("v.yaml");
        java.nio.file.Files.writeString(f, TEXT);
        assertEquals(3, Scenarios.variants(f.toString()).size());
    }
}
