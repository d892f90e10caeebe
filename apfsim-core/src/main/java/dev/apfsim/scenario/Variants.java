package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code variants} section (docs/scenarios.md#variants): named lists of {@code --set} overrides. Read from the raw
 * node tree rather than converted, because each entry is applied to a fresh copy of the document, and an error a
 * variant causes is reported at its entry in the file.
 */
final class Variants {
    private Variants() {
    }

    /** One {@code PATH=VALUE} entry, with where it is written. */
    record Entry(String override, Node node, String path) {
    }

    /** Shape check of {@code variants: {NAME: [PATH=VALUE, ...], ...}}: variant name -> entries, in file order. */
    static Map<String, List<Entry>> read(String source, MappingNode root) {
        Map<String, List<Entry>> out = new LinkedHashMap<>();
        Node section = null;
        for (NodeTuple t : root.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().strip().equals("variants")) {
                section = t.getValueNode();
            }
        }
        if (section == null || Yaml.isNull(section)) {
            return out;
        }
        if (!(section instanceof MappingNode m)) {
            throw Yaml.error(section, source, "variants", "expected a mapping of variant names to lists of "
                    + "PATH=VALUE overrides, like {old: [host.policy.token_wrap_fix=false], fixed: []}, got "
                    + Yaml.describe(section));
        }
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k) || Yaml.isNull(k) || k.getValue().isBlank()) {
                throw Yaml.error(t.getKeyNode(), source, "variants", "expected a variant name, got "
                        + Yaml.describe(t.getKeyNode()));
            }
            String name = k.getValue();
            String path = "variants." + name;
            if (out.containsKey(name)) {
                throw Yaml.error(k, source, path, "variant given twice");
            }
            Node v = t.getValueNode();
            List<Entry> list = new ArrayList<>();
            if (!Yaml.isNull(v)) {
                if (!(v instanceof SequenceNode seq)) {
                    throw Yaml.error(v, source, path, "expected a list of PATH=VALUE overrides, got "
                            + Yaml.describe(v));
                }
                for (int i = 0; i < seq.getValue().size(); i++) {
                    Node item = seq.getValue().get(i);
                    String ip = path + "[" + i + "]";
                    if (!(item instanceof ScalarNode sc) || Yaml.isNull(item) || sc.getValue().indexOf('=') <= 0) {
                        throw Yaml.error(item, source, ip, "expected an override PATH=VALUE like "
                                + "host.policy.token_wrap_fix=false, got " + Yaml.describe(item));
                    }
                    list.add(new Entry(sc.getValue(), item, ip));
                }
            }
            out.put(name, List.copyOf(list));
        }
        return out;
    }

    /**
     * The error to report when variant {@code name} makes the scenario invalid: at the entry the error is about
     * (the one being applied, or the one whose value failed to convert), else at the variant as a whole.
     *
     * @param applying the entry whose {@code --set} failed to apply, or null if all applied and conversion failed
     */
    static ScenarioException blame(String source, String name, List<Entry> entries, Entry applying,
                                   ScenarioException e) {
        Entry at = applying;
        for (Entry x : entries) {
            // a converted value that came from an override carries "--set PATH=VALUE" as its source
            if (at == null && (Yaml.OVERRIDE_PREFIX + x.override()).equals(e.source())) {
                at = x;
            }
        }
        if (at != null) {
            return Yaml.error(at.node(), source, at.path(),
                    (e.field() == null ? "" : "field " + e.field() + ": ") + e.detail());
        }
        return Yaml.error(entries.isEmpty() ? null : entries.getFirst().node(), source,
                "variants." + name, "with this variant the scenario is invalid: " + e.getMessage());
    }
}
