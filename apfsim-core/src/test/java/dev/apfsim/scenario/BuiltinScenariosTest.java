package dev.apfsim.scenario;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BuiltinScenariosTest {

    @Test
    void indexListsTheExample() {
        assertTrue(BuiltinScenarios.names().contains("example-minimal"), BuiltinScenarios.names().toString());
        assertTrue(BuiltinScenarios.exists("example-minimal"));
        assertFalse(BuiltinScenarios.exists("no-such-scenario"));
    }

    @Test
    void everyIndexedScenarioLoadsAndHasADescription() {
        for (String name : BuiltinScenarios.names()) {
            Scenario s = BuiltinScenarios.load(name, List.of());
            assertEquals(name, s.name(), "built-in " + name + " should be named after its file");
            assertFalse(BuiltinScenarios.description(name).isBlank(), name + " has no description");
            assertEquals(s.description().strip(), BuiltinScenarios.description(name));
        }
    }

    @Test
    void loadWithOverrides() {
        Scenario s = BuiltinScenarios.load("example-minimal", List.of("vm.vcpus=2", "seed=7"));
        assertEquals(2, s.vcpus());
        assertEquals(7, s.seed());
        assertTrue(BuiltinScenarios.text("example-minimal").contains("0xf3"));
    }

    @Test
    void errorsInBuiltinsNameTheBuiltinSource() {
        ScenarioException e = assertThrows(ScenarioException.class,
                () -> BuiltinScenarios.load("example-minimal", List.of("vm.memory=2MiB")));
        assertEquals("builtin:example-minimal.yaml", e.source());
        assertEquals("memory.regions[0].start", e.field());
        assertTrue(e.line() > 0);
    }

    @Test
    void unknownBuiltin() {
        ScenarioException e = assertThrows(ScenarioException.class, () -> BuiltinScenarios.load("example-minimum",
                List.of()));
        assertTrue(e.getMessage().startsWith("example-minimum: no built-in scenario of that name (did you mean "
                + "\"example-minimal\"?"), e.getMessage());
    }

    @Test
    void resolveBuiltinName() {
        assertEquals("example-minimal", Scenarios.resolve("example-minimal", List.of()).name());
        assertEquals(3, Scenarios.resolve("example-minimal", List.of("vm.vcpus=3")).vcpus());
    }

    @Test
    void resolveFilePath(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("mine.yaml");
        Files.writeString(f, "vm: {vcpus: 3}\n");
        Scenario s = Scenarios.resolve(f.toString(), List.of("seed=9"));
        assertEquals("mine", s.name());
        assertEquals(3, s.vcpus());
        assertEquals(9, s.seed());
        assertEquals("mine", ScenarioLoader.loadFile(f).name());

        Files.writeString(f, "vm: {vcpus: many}\n");
        ScenarioException e = assertThrows(ScenarioException.class, () -> Scenarios.resolve(f.toString(), List.of()));
        assertEquals(f + ":1:13: field vm.vcpus: expected an integer (decimal or 0x hex), got \"many\"",
                e.getMessage());

        ScenarioException d = assertThrows(ScenarioException.class, () -> Scenarios.resolve(dir.toString(),
                List.of()));
        assertTrue(d.getMessage().endsWith("is a directory, not a scenario file"), d.getMessage());

        Path bad = dir.resolve("latin1.yaml");
        Files.write(bad, new byte[]{'n', 'a', 'm', 'e', ':', ' ', (byte) 0xe9, '\n'});
        ScenarioException enc = assertThrows(ScenarioException.class, () -> ScenarioLoader.loadFile(bad));
        assertTrue(enc.getMessage().contains("not valid UTF-8"), enc.getMessage());
    }

    @Test
    void resolveNeither() {
        ScenarioException e = assertThrows(ScenarioException.class, () -> Scenarios.resolve("exampel-minimal",
                List.of()));
        assertTrue(e.getMessage().startsWith("exampel-minimal: not a built-in scenario and no such file (did you "
                + "mean \"example-minimal\"? built-in scenarios: "), e.getMessage());
        assertTrue(e.getMessage().contains("example-minimal"));
        assertEquals("nope/x.yaml: no such file",
                assertThrows(ScenarioException.class, () -> Scenarios.resolve("nope/x.yaml", List.of()))
                        .getMessage());
        assertThrows(ScenarioException.class, () -> Scenarios.resolve("", List.of()));
    }
}
