package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Scenarios shipped inside the jar: {@code scenarios/NAME.yaml} resources listed, one name per line, in
 * {@code scenarios/index.txt} (blank lines and {@code #} comments ignored). Error messages about a built-in name its
 * source as {@code builtin:NAME.yaml}.
 */
public final class BuiltinScenarios {
    private static final String DIR = "/scenarios/";

    private BuiltinScenarios() {
    }

    /** Built-in scenario names in index order. */
    public static List<String> names() {
        String index = resource(DIR + "index.txt");
        List<String> out = new ArrayList<>();
        if (index == null) {
            return out;
        }
        for (String line : index.split("\\R")) {
            int hash = line.indexOf('#');
            String name = (hash >= 0 ? line.substring(0, hash) : line).strip();
            if (!name.isEmpty() && !out.contains(name)) {
                out.add(name);
            }
        }
        return List.copyOf(out);
    }

    /** True if {@code name} is in the index. */
    public static boolean exists(String name) {
        return names().contains(name);
    }

    /** The YAML text of a built-in scenario. */
    public static String text(String name) {
        if (!exists(name)) {
            throw unknown(name);
        }
        String text = resource(DIR + name + ".yaml");
        if (text == null) {
            throw new ScenarioException(source(name), "listed in scenarios/index.txt but the resource is missing");
        }
        return text;
    }

    /** Loads a built-in scenario with {@code --set} overrides. */
    public static Scenario load(String name, List<String> overrides) {
        return ScenarioLoader.load(source(name), name, text(name), overrides);
    }

    /** Loads a built-in scenario. */
    public static Scenario load(String name) {
        return load(name, List.of());
    }

    /** The {@code variants} section of a built-in scenario (name -> overrides, in file order; empty if none). */
    public static java.util.Map<String, List<String>> variants(String name) {
        return ScenarioLoader.variants(source(name), text(name));
    }

    /**
     * The {@code description} field of a built-in scenario (empty if it has none), read without converting the rest,
     * so listing works even while a scenario is being edited.
     */
    public static String description(String name) {
        MappingNode root = ScenarioLoader.rootMapping(source(name), text(name));
        for (NodeTuple t : root.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("description")
                    && t.getValueNode() instanceof ScalarNode v && !Yaml.isNull(v)) {
                return v.getValue().strip();
            }
        }
        return "";
    }

    /** Source label used in error messages: {@code builtin:NAME.yaml}. */
    static String source(String name) {
        return "builtin:" + name + ".yaml";
    }

    static ScenarioException unknown(String name) {
        List<String> names = names();
        String sug = Yaml.suggest(name, names);
        return new ScenarioException(name, "no built-in scenario of that name (" + sug + "built-in scenarios: "
                + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
    }

    private static String resource(String path) {
        try (InputStream in = BuiltinScenarios.class.getResourceAsStream(path)) {
            return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + path, e);
        }
    }
}
