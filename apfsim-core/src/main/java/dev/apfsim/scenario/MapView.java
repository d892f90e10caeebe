package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;

import java.util.Map;

/**
 * A mapping node whose keys {@link NodeReader#map} has already checked (known, scalar, not duplicated), so section
 * readers can look fields up by name and still point errors at the key or the mapping.
 *
 * @param node    the mapping, or null / a null scalar when the section was absent or empty
 * @param path    dotted field path of the mapping ({@code ""} for the top level)
 * @param entries key -> (key node, value node), in file order
 */
record MapView(Node node, String path, Map<String, NodeTuple> entries) {
    Node get(String key) {
        NodeTuple t = entries.get(key);
        return t == null ? null : t.getValueNode();
    }

    boolean has(String key) {
        return entries.containsKey(key);
    }

    Node keyNode(String key) {
        NodeTuple t = entries.get(key);
        return t == null ? null : t.getKeyNode();
    }

    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }
}
