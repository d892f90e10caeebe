package dev.apfsim.scenario;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/** Turns what a user typed (a built-in scenario name or a YAML file path) into a {@link Scenario}. */
public final class Scenarios {
    private Scenarios() {
    }

    /**
     * Resolves {@code nameOrPath}: something that looks like a path (contains a path separator or ends in
     * {@code .yaml}/{@code .yml}) is read as a file; otherwise a built-in name wins over a file of the same name in
     * the current directory.
     *
     * @throws ScenarioException if it is neither, or if the scenario is invalid
     */
    public static Scenario resolve(String nameOrPath, List<String> overrides) {
        return switch (locate(nameOrPath)) {
            case Located.Builtin b -> BuiltinScenarios.load(b.name(), overrides);
            case Located.File f -> ScenarioLoader.loadFile(f.path(), overrides);
        };
    }

    /**
     * The {@code variants} section of a built-in scenario or file (variant name -> its {@code --set} overrides, in
     * file order; empty if there is none), resolved like {@link #resolve(String, List)}.
     */
    public static java.util.Map<String, List<String>> variants(String nameOrPath) {
        return switch (locate(nameOrPath)) {
            case Located.Builtin b -> BuiltinScenarios.variants(b.name());
            case Located.File f -> ScenarioLoader.variants(f.path().toString(), read(f.path()));
        };
    }

    private sealed interface Located {
        record Builtin(String name) implements Located {
        }

        record File(Path path) implements Located {
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new ScenarioException(p.toString(), "cannot read file: " + e);
        }
    }

    private static Located locate(String nameOrPath) {
        if (nameOrPath == null || nameOrPath.isBlank()) {
            throw new ScenarioException("<scenario>", "no scenario given: name a built-in scenario ("
                    + String.join(", ", BuiltinScenarios.names()) + ") or a YAML file");
        }
        boolean looksLikePath = nameOrPath.contains("/") || nameOrPath.contains("\\")
                || nameOrPath.endsWith(".yaml") || nameOrPath.endsWith(".yml");
        if (!looksLikePath && BuiltinScenarios.exists(nameOrPath)) {
            return new Located.Builtin(nameOrPath);
        }
        Path p;
        try {
            p = Paths.get(nameOrPath);
        } catch (RuntimeException e) {
            p = null;
        }
        if (p != null && Files.isRegularFile(p)) {
            return new Located.File(p);
        }
        if (p != null && Files.isDirectory(p)) {
            throw new ScenarioException(nameOrPath, "is a directory, not a scenario file");
        }
        List<String> names = BuiltinScenarios.names();
        if (looksLikePath) {
            throw new ScenarioException(nameOrPath, "no such file");
        }
        String sug = Yaml.suggest(nameOrPath, names);
        throw new ScenarioException(nameOrPath, "not a built-in scenario and no such file (" + sug
                + "built-in scenarios: " + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
    }

    /** {@link #resolve(String, List)} without overrides. */
    public static Scenario resolve(String nameOrPath) {
        return resolve(nameOrPath, List.of());
    }
}
