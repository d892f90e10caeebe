package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.api.lowlevel.Parse;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.common.ScalarStyle;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.schema.CoreSchema;

import java.util.Collection;
import java.util.Optional;

/** snakeyaml-engine node helpers shared by the loader and the override code. */
final class Yaml {
    /**
     * Most characters (code points) in one scenario document: snakeyaml-engine's code-point limit, so a huge file is
     * refused before it is parsed (scenario files are a few KiB).
     */
    static final int MAX_CODE_POINTS = 1 << 20;
    /** Deepest nesting of mappings and lists; scenarios need about 8. Deeper would overflow the composer's stack. */
    static final int MAX_NESTING = 100;

    /** Prefix of the source label of nodes parsed from a {@code --set} value. */
    static final String OVERRIDE_PREFIX = "--set ";

    private Yaml() {
    }

    /**
     * Composes one YAML document into a node tree whose marks carry {@code label} as their name.
     *
     * @return the root node, or null for an empty document
     */
    static Node compose(String label, String text) {
        LoadSettings settings = LoadSettings.builder()
                .setLabel(label)
                .setSchema(new CoreSchema())
                .setUseMarks(true)
                .setMaxAliasesForCollections(100)
                .setCodePointLimit(MAX_CODE_POINTS)
                .build();
        if (text.length() > MAX_CODE_POINTS) {
            throw new ScenarioException(label, "the document has " + String.format("%,d", text.length())
                    + " characters, more than the limit of " + String.format("%,d", MAX_CODE_POINTS));
        }
        try {
            checkNesting(label, settings, text);
            Optional<Node> node = new Compose(settings).composeString(text);
            return node.orElse(null);
        } catch (MarkedYamlEngineException e) {
            throw syntaxError(label, e);
        } catch (YamlEngineException e) {
            throw new ScenarioException(label, "YAML error: " + oneLine(e.getMessage()));
        }
    }

    /**
     * Refuses documents nested deeper than {@link #MAX_NESTING} before composing them: the parser's event stream is
     * flat (no recursion), the composer would recurse once per level.
     */
    private static void checkNesting(String label, LoadSettings settings, String text) {
        int depth = 0;
        for (Event e : new Parse(settings).parseString(text)) {
            switch (e.getEventId()) {
                case MappingStart, SequenceStart -> {
                    if (++depth > MAX_NESTING) {
                        String msg = "YAML nesting deeper than " + MAX_NESTING + " levels (mappings and lists "
                                + "inside each other); a scenario needs fewer than 10";
                        Optional<Mark> m = e.getStartMark();
                        if (m.isPresent() && !isOverride(label)) {
                            throw new ScenarioException(label, m.get().getLine() + 1, m.get().getColumn() + 1, null,
                                    msg, null);
                        }
                        throw new ScenarioException(label, msg);
                    }
                }
                case MappingEnd, SequenceEnd -> depth--;
                default -> {
                }
            }
        }
    }

    private static ScenarioException syntaxError(String label, MarkedYamlEngineException e) {
        StringBuilder msg = new StringBuilder("YAML syntax error: ");
        msg.append(e.getProblem() == null ? "malformed document" : oneLine(e.getProblem()));
        if (e.getContext() != null && !e.getContext().isBlank()) {
            msg.append(" (").append(oneLine(e.getContext()));
            e.getContextMark().ifPresent(m -> {
                if (!isOverride(label)) {
                    msg.append(" at line ").append(m.getLine() + 1).append(", column ").append(m.getColumn() + 1);
                }
            });
            msg.append(')');
        }
        Optional<Mark> mark = e.getProblemMark().or(e::getContextMark);
        if (mark.isPresent() && !isOverride(label)) {
            return new ScenarioException(label, mark.get().getLine() + 1, mark.get().getColumn() + 1, null,
                    msg.toString(), null);
        }
        return new ScenarioException(label, msg.toString());
    }

    static boolean isOverride(String label) {
        return label != null && label.startsWith(OVERRIDE_PREFIX);
    }

    static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** A plain empty, {@code ~} or {@code null} scalar: YAML's "no value". */
    static boolean isNull(Node n) {
        if (n instanceof ScalarNode s && s.getScalarStyle() == ScalarStyle.PLAIN) {
            String v = s.getValue();
            return v.isEmpty() || v.equals("~") || v.equals("null") || v.equals("Null") || v.equals("NULL");
        }
        return false;
    }

    /** What a node is, for "got ..." in messages: {@code "fast"}, {@code a mapping}, {@code a list}, {@code nothing}. */
    static String describe(Node n) {
        if (n == null || isNull(n)) {
            return "nothing";
        }
        return switch (n) {
            case ScalarNode s -> Units.quote(s.getValue());
            case MappingNode m -> m.getValue().isEmpty() ? "an empty mapping {}" : "a mapping";
            case SequenceNode q -> q.getValue().isEmpty() ? "an empty list []" : "a list";
            default -> "a " + n.getNodeType().name().toLowerCase();
        };
    }

    /** An error located at {@code node} (or at {@code fallbackSource} without position if the node has no mark). */
    static ScenarioException error(Node node, String fallbackSource, String path, String detail) {
        Optional<Mark> mark = node == null ? Optional.empty() : node.getStartMark();
        if (mark.isEmpty()) {
            return new ScenarioException(fallbackSource, 0, 0, path, detail, null);
        }
        Mark m = mark.get();
        String source = m.getName();
        if (isOverride(source)) {
            return new ScenarioException(source, 0, 0, path, detail, null);
        }
        return new ScenarioException(source, m.getLine() + 1, m.getColumn() + 1, path, detail, null);
    }

    /** {@code did you mean "x"? } for a near miss among {@code options}, else empty. */
    static String suggest(String wrong, Collection<String> options) {
        if (wrong.length() > NodeReader.MAX_KEY) {
            return ""; // the edit distance of a huge string costs its length squared for nothing
        }
        String w = wrong.toLowerCase();
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String o : options) {
            int d = distance(w, o.toLowerCase());
            if (d < bestD) {
                bestD = d;
                best = o;
            }
        }
        int limit = w.length() <= 3 ? 1 : 2;
        if (best != null && (bestD <= limit || w.length() >= 3 && best.toLowerCase().startsWith(w))) {
            return "did you mean \"" + best + "\"? ";
        }
        return "";
    }

    /** Edit distance with adjacent transpositions (optimal string alignment). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int c = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + c);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
