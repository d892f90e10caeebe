package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Typed, checked access to the nodes of one scenario: mappings with known keys, required fields, lists, and scalar
 * values (string, duration, size, address, integer, decimal, bool, choice), each failing with a
 * {@link ScenarioException} that names the node's file position and the field path. The section readers
 * ({@link HostReader}, {@link MemoryReader}, ...) build on it so that every field of the same kind is checked, and
 * its errors worded, the same way.
 */
final class NodeReader {
    static final long PAGE = 4096;
    /** No field name of the schema is near this long; a longer key is not worth a suggestion or a full echo. */
    static final int MAX_KEY = 100;

    /** Reported for nodes without a mark (created by an override that added a field). */
    private final String source;

    NodeReader(String source) {
        this.source = source;
    }

    ScenarioException error(Node at, String path, String detail) {
        return Yaml.error(at, source, path == null || path.isEmpty() ? null : path, detail);
    }

    // ---- structure -----------------------------------------------------------------------------------------------

    MapView map(Node n, String path, Collection<String> allowed, String what) {
        if (n == null || Yaml.isNull(n)) {
            return new MapView(n, path, Map.of());
        }
        if (!(n instanceof MappingNode m)) {
            throw error(n, path, "expected " + what + ", got " + Yaml.describe(n));
        }
        Map<String, NodeTuple> entries = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            Node k = t.getKeyNode();
            if (!(k instanceof ScalarNode ks) || Yaml.isNull(k)) {
                throw error(k, path, "expected a field name, got " + Yaml.describe(k));
            }
            String key = ks.getValue().strip(); // like values: " vcpus" is vcpus
            if (key.length() > MAX_KEY) {
                throw error(k, path, "expected a field name, got a " + String.format("%,d", key.length())
                        + "-character string " + Units.quote(key));
            }
            String keyPath = path.isEmpty() ? key : path + "." + key;
            NodeTuple earlier = entries.get(key);
            if (earlier != null) {
                // an override has no line worth pointing at
                String where = earlier.getKeyNode().getStartMark()
                        .filter(mk -> !Yaml.isOverride(mk.getName()))
                        .map(mk -> " (first given at line " + (mk.getLine() + 1) + ")").orElse("");
                throw error(k, keyPath, "field given twice" + where);
            }
            if (!allowed.contains(key)) {
                throw error(k, keyPath, "unknown field (" + Yaml.suggest(key, allowed) + "fields of "
                        + (path.isEmpty() ? "the top level" : path) + ": " + String.join(", ", allowed) + ")");
            }
            entries.put(key, t);
        }
        return new MapView(n, path, entries);
    }

    /** A fixed-shape sub-mapping of {@code parent}; absent = empty. */
    MapView section(MapView parent, String key, Schema.Obj shape) {
        return map(parent.get(key), parent.path(key), shape.fields().keySet(), "a mapping of "
                + String.join(", ", shape.fields().keySet()));
    }

    /** The value of {@code key}; when missing, the error points at the mapping that lacks it. */
    Node require(MapView m, String key, String what) {
        Node n = m.get(key);
        if (n == null) {
            Node at = m.node();
            throw error(at, m.path(key), "missing required field (" + what + ")");
        }
        return n;
    }

    /** Elements of a list field; absent or null = empty. */
    List<Node> list(Node n, String path, String what) {
        if (n == null || Yaml.isNull(n)) {
            return List.of();
        }
        if (!(n instanceof SequenceNode s)) {
            throw error(n, path, "expected a list of " + what + ", got " + Yaml.describe(n));
        }
        return s.getValue();
    }

    String scalar(Node n, String path, String expected) {
        if (n instanceof ScalarNode s && !Yaml.isNull(n)) {
            return s.getValue();
        }
        throw error(n, path, "expected " + expected + ", got " + Yaml.describe(n));
    }

    // ---- scalars -------------------------------------------------------------------------------------------------

    String string(Node n, String path) {
        return scalar(n, path, "a string");
    }

    String nonEmpty(Node n, String path) {
        String s = string(n, path);
        if (s.isBlank()) {
            throw error(n, path, "expected a non-empty string, got " + Units.quote(s));
        }
        return s;
    }

    long duration(Node n, String path) {
        String text = scalar(n, path, "a duration like 50us");
        try {
            return Units.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw error(n, path, e.getMessage());
        }
    }

    long duration(Node n, String path, long min) {
        long v = duration(n, path);
        if (v < min) {
            throw error(n, path, "expected a duration of at least " + Units.formatDuration(min) + ", got "
                    + scalar(n, path, ""));
        }
        return v;
    }

    long durField(MapView m, String key, long def) {
        Node n = m.get(key);
        return n == null ? def : duration(n, m.path(key));
    }

    long size(Node n, String path) {
        String text = scalar(n, path, "a size like 64MiB");
        try {
            return Units.parseSize(text);
        } catch (IllegalArgumentException e) {
            throw error(n, path, e.getMessage());
        }
    }

    /** Guest memory is handed out in whole 4 KiB pages. */
    void pageMultiple(Node n, String path, long v) {
        if (v % PAGE != 0) {
            throw error(n, path, "expected a multiple of 4KiB (4096 bytes), got " + scalar(n, path, "").strip()
                    + " = " + v + " bytes");
        }
    }

    long address(Node n, String path) {
        String text = scalar(n, path, "an address like 0x300000");
        try {
            return Units.parseAddress(text);
        } catch (IllegalArgumentException e) {
            throw error(n, path, e.getMessage());
        }
    }

    long integer(Node n, String path, long min, long max) {
        String text = scalar(n, path, "an integer");
        long v;
        try {
            v = Units.parseInteger(text);
        } catch (IllegalArgumentException e) {
            throw error(n, path, e.getMessage());
        }
        if (v < min || v > max) {
            String range = max >= Integer.MAX_VALUE ? "of at least " + min
                    : min == Long.MIN_VALUE ? "of at most " + max : "from " + min + " to " + max;
            throw error(n, path, "expected an integer " + range + ", got " + text.strip());
        }
        return v;
    }

    int intField(MapView m, String key, int min, int max, int def) {
        Node n = m.get(key);
        return n == null ? def : (int) integer(n, m.path(key), min, max);
    }

    private static final java.util.regex.Pattern DECIMAL =
            java.util.regex.Pattern.compile("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    double number(Node n, String path, double min, double max, boolean minExclusive, String what) {
        String text = scalar(n, path, what);
        String range = (minExclusive ? "greater than " + fmt(min) : "from " + fmt(min)) + " to " + fmt(max);
        if (!DECIMAL.matcher(text.strip()).matches()) {
            throw error(n, path, "expected " + what + " " + range + ", got " + Units.quote(text));
        }
        double v = Double.parseDouble(text.strip());
        if (v < min || v > max || minExclusive && v == min) {
            throw error(n, path, "expected " + what + " " + range + ", got " + text.strip());
        }
        return v;
    }

    double fraction(MapView m, String key, double def) {
        Node n = m.get(key);
        return n == null ? def : number(n, m.path(key), 0, 1, false, "a fraction");
    }

    /** A bound as written in messages: {@code 1}, not {@code 1.0}. */
    static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    boolean bool(Node n, String path) {
        String text = scalar(n, path, "true or false");
        return switch (text) {
            case "true", "True", "TRUE" -> true;
            case "false", "False", "FALSE" -> false;
            default -> throw error(n, path, "expected true or false, got " + Units.quote(text));
        };
    }

    boolean boolField(MapView m, String key, boolean def) {
        Node n = m.get(key);
        return n == null ? def : bool(n, m.path(key));
    }

    /** One of {@code options} (keys are the documented spellings; case and -/_ are not significant). */
    <E> E choice(Node n, String path, Map<String, E> options) {
        String expected = "one of " + String.join(", ", options.keySet());
        String text = scalar(n, path, expected);
        String norm = text.strip().toLowerCase(Locale.ROOT).replace('_', '-');
        E v = options.get(norm);
        if (v == null) {
            throw error(n, path, "expected " + expected + ", got " + Units.quote(text)
                    + (Yaml.suggest(norm, options.keySet()).isEmpty() ? ""
                    : " (" + Yaml.suggest(norm, options.keySet()).strip() + ")"));
        }
        return v;
    }

    <E> E choiceField(MapView m, String key, Map<String, E> options, E def) {
        Node n = m.get(key);
        return n == null ? def : choice(n, m.path(key), options);
    }

    // ---- choice tables -------------------------------------------------------------------------------------------

    /** An unmodifiable map in the given order: the order is the one error messages list the options in. */
    @SuppressWarnings("unchecked")
    static <E> Map<String, E> ordered(Object... keyAndValue) {
        Map<String, E> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyAndValue.length; i += 2) {
            m.put((String) keyAndValue[i], (E) keyAndValue[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Map of names to themselves, for string choices. */
    static Map<String, String> names(Collection<String> names) {
        Map<String, String> m = new LinkedHashMap<>();
        names.forEach(n -> m.put(n, n));
        return m;
    }
}
