package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.common.ScalarStyle;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Applies {@code --set PATH=VALUE} overrides to a composed scenario tree before conversion, so overridden values go
 * through exactly the same validation as values from the file (errors in them name the override instead of a file
 * position).
 *
 * <p>PATH is dotted snake_case keys; list elements are selected by a numeric segment or brackets
 * ({@code workload.tasks.0.compute} or {@code workload.tasks[0].compute}); index = current length appends. VALUE is
 * one YAML scalar or flow collection ({@code 10us}, {@code [1, 2]}, {@code {type: constant, value: 1ms}}). Missing
 * mappings along the path are created. The path is checked against {@link Schema} first.
 */
final class Overrides {

    private Overrides() {
    }

    /** Applies {@code override} ({@code PATH=VALUE}) to {@code root} in place. */
    static void apply(MappingNode root, String override) {
        String label = Yaml.OVERRIDE_PREFIX + override;
        int eq = override.indexOf('=');
        if (eq < 0) {
            throw new ScenarioException(label, "expected PATH=VALUE, like vm.vcpus=2 or workload.tasks.0.cpu=1");
        }
        String pathText = override.substring(0, eq).strip();
        List<Object> segs = parsePath(label, pathText);
        Node value = Yaml.compose(label, override.substring(eq + 1));
        if (value == null) {
            // "--set description=" means the empty string
            value = new ScalarNode(Tag.STR, true, "", ScalarStyle.DOUBLE_QUOTED, mark(label), mark(label));
        }

        checkPath(label, segs);
        Node cur = root;
        String shown = "";
        for (int i = 0; i < segs.size(); i++) {
            Object seg = segs.get(i);
            boolean last = i == segs.size() - 1;
            String childShown = seg instanceof Integer idx ? shown + "[" + idx + "]"
                    : shown.isEmpty() ? (String) seg : shown + "." + seg;
            if (seg instanceof String key) {
                MappingNode map = (MappingNode) cur;   // guaranteed by the previous step
                NodeTuple found = null;
                int at = -1;
                List<NodeTuple> tuples = map.getValue();
                for (int t = 0; t < tuples.size(); t++) {
                    if (tuples.get(t).getKeyNode() instanceof ScalarNode k && k.getValue().strip().equals(key)) {
                        found = tuples.get(t);
                        at = t;
                    }
                }
                Node child = found == null ? null : found.getValueNode();
                Node next = last ? value : container(label, childShown, child, segs.get(i + 1), value);
                if (next != child) {
                    Node keyNode = found != null ? found.getKeyNode()
                            : new ScalarNode(Tag.STR, true, key, ScalarStyle.PLAIN, value.getStartMark(),
                            value.getStartMark());
                    NodeTuple tuple = new NodeTuple(keyNode, next);
                    List<NodeTuple> copy = new ArrayList<>(tuples);
                    if (at >= 0) {
                        copy.set(at, tuple);
                    } else {
                        copy.add(tuple);
                    }
                    map.setValue(copy);
                }
                cur = next;
            } else {
                int idx = (Integer) seg;
                SequenceNode seq = (SequenceNode) cur;
                List<Node> items = seq.getValue();
                if (idx > items.size()) {
                    throw new ScenarioException(label, 0, 0, childShown, "no element " + idx + " in " + shown
                            + ": it has " + items.size() + (items.size() == 1 ? " element" : " elements")
                            + " (index " + items.size() + " appends one)", null);
                }
                Node child = idx < items.size() ? items.get(idx) : null;
                Node next = last ? value : container(label, childShown, child, segs.get(i + 1), value);
                if (next != child) {
                    if (idx < items.size()) {
                        items.set(idx, next);
                    } else {
                        items.add(next);
                    }
                }
                cur = next;
            }
            shown = childShown;
        }
    }

    /** Checks the path against {@link Schema}, independent of what the scenario contains. */
    private static void checkPath(String label, List<Object> segs) {
        Schema.S shape = Schema.ROOT;
        String shown = "";
        for (Object seg : segs) {
            if (seg instanceof String key) {
                shape = switch (shape) {
                    case Schema.Obj o when o.has(key) -> o.fields().get(key);
                    case Schema.Obj o -> throw new ScenarioException(label, "unknown field " + show(segs)
                            + " (" + Yaml.suggest(key, o.fields().keySet()) + "no field \"" + key + "\" in "
                            + (shown.isEmpty() ? "the top level" : shown) + ", which has: "
                            + String.join(", ", o.fields().keySet()) + ")");
                    case Schema.Any a -> a;
                    case Schema.Seq s -> throw new ScenarioException(label, 0, 0, shown,
                            shown + " is a list: select an element with an index, like " + shown + ".0." + key,
                            null);
                    case Schema.Leaf l -> throw new ScenarioException(label, "unknown field " + show(segs)
                            + " (" + shown + " is a single value, not a mapping)");
                };
                shown = shown.isEmpty() ? key : shown + "." + key;
            } else {
                int idx = (Integer) seg;
                shape = switch (shape) {
                    case Schema.Seq s -> s.element();
                    case Schema.Any a -> a;
                    default -> throw new ScenarioException(label, 0, 0, shown,
                            shown + " is not a list, so it has no element " + idx, null);
                };
                shown = shown + "[" + idx + "]";
            }
        }
    }

    /**
     * The mapping or list at {@code shown} to descend into: the existing one, or a new one when the field is absent or
     * null. An existing scalar cannot be descended into.
     */
    private static Node container(String label, String shown, Node existing, Object nextSeg, Node value) {
        boolean wantList = nextSeg instanceof Integer;
        if (existing == null || Yaml.isNull(existing)) {
            Optional<Mark> m = value.getStartMark();
            return wantList ? new SequenceNode(Tag.SEQ, true, new ArrayList<>(), FlowStyle.BLOCK, m, m)
                    : new MappingNode(Tag.MAP, true, new ArrayList<>(), FlowStyle.BLOCK, m, m);
        }
        if (wantList && existing instanceof SequenceNode) {
            return existing;
        }
        if (!wantList && existing instanceof MappingNode) {
            return existing;
        }
        if (existing instanceof ScalarNode s) {
            throw new ScenarioException(label, 0, 0, shown, shown + " is " + Units.quote(s.getValue())
                    + " in the scenario, a single value: set it as a whole instead, e.g. --set " + shown
                    + "={...}", null);
        }
        throw new ScenarioException(label, 0, 0, shown, shown + " is " + Yaml.describe(existing)
                + (wantList ? ", not a list" : ", not a mapping") + " in the scenario", null);
    }

    /** Canonical form of a parsed path: {@code workload.tasks[0].compute}. */
    static String show(List<Object> segs) {
        StringBuilder b = new StringBuilder();
        for (Object seg : segs) {
            if (seg instanceof Integer idx) {
                b.append('[').append(idx).append(']');
            } else {
                if (!b.isEmpty()) {
                    b.append('.');
                }
                b.append(seg);
            }
        }
        return b.toString();
    }

    /** {@code a.b[2].c} or {@code a.b.2.c} -> ["a", "b", 2, "c"]. */
    static List<Object> parsePath(String label, String path) {
        List<Object> segs = new ArrayList<>();
        if (path.isEmpty()) {
            throw new ScenarioException(label, "missing field path before '=', like vm.vcpus=2");
        }
        int i = 0;
        int n = path.length();
        boolean needSegment = true;
        while (i < n) {
            char c = path.charAt(i);
            if (c == '[') {
                int close = path.indexOf(']', i);
                if (segs.isEmpty() || close < 0) {
                    throw badPath(label, path);
                }
                segs.add(index(label, path, path.substring(i + 1, close)));
                i = close + 1;
                needSegment = false;
            } else if (c == '.') {
                if (needSegment) {
                    throw badPath(label, path);
                }
                needSegment = true;
                i++;
            } else {
                if (!needSegment) {
                    throw badPath(label, path);
                }
                int j = i;
                while (j < n && path.charAt(j) != '.' && path.charAt(j) != '[') {
                    j++;
                }
                String word = path.substring(i, j);
                if (word.chars().allMatch(Character::isDigit)) {
                    if (segs.isEmpty()) {
                        throw badPath(label, path);
                    }
                    segs.add(index(label, path, word));
                } else if (word.matches("[A-Za-z_][A-Za-z0-9_-]*")) {
                    segs.add(word);
                } else {
                    throw badPath(label, path);
                }
                needSegment = false;
                i = j;
            }
        }
        if (needSegment) {
            throw badPath(label, path);
        }
        return segs;
    }

    private static int index(String label, String path, String digits) {
        if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit) || digits.length() > 7) {
            throw badPath(label, path);
        }
        return Integer.parseInt(digits);
    }

    private static ScenarioException badPath(String label, String path) {
        return new ScenarioException(label, "bad field path " + Units.quote(path)
                + ": expected dotted names with list indices, like workload.tasks.0.compute or workload.tasks[0].compute");
    }

    private static Optional<Mark> mark(String label) {
        return Optional.of(new Mark(label, 0, 0, 0, new int[0], 0));
    }
}
