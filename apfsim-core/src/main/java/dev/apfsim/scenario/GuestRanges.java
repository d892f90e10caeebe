package dev.apfsim.scenario;

import org.snakeyaml.engine.v2.nodes.Node;

import static dev.apfsim.scenario.NodeReader.PAGE;

/**
 * Guest-physical addresses and page ranges checked against {@code vm.memory}: memory regions, failure rules, working
 * sets and script touches all must lie inside the guest's RAM.
 */
final class GuestRanges {
    private final NodeReader r;
    private final long memory;

    /** @param memory {@code vm.memory} in bytes */
    GuestRanges(NodeReader r, long memory) {
        this.r = r;
        this.memory = memory;
    }

    /** A page range {@code [start, start + size)}. */
    record Range(long start, long size) {
    }

    /** An address below {@code vm.memory}. */
    long address(Node n, String path) {
        long a = r.address(n, path);
        insideMemory(n, path, a);
        return a;
    }

    /**
     * {start, size} of a page-aligned range inside guest memory.
     *
     * @param sizeRequired false: size defaults to 4KiB
     */
    Range range(MapView m, String what, boolean sizeRequired) {
        long start = 0;
        if (m.has("start")) {
            Node sn = m.get("start");
            start = r.address(sn, m.path("start"));
            if (start % PAGE != 0) {
                throw r.error(sn, m.path("start"), "expected a 4KiB-aligned address, got "
                        + r.scalar(sn, "", "").strip());
            }
            insideMemory(sn, m.path("start"), start);
        }
        long size = PAGE;
        Node zn = sizeRequired ? r.require(m, "size", "a size like 2MiB") : m.get("size");
        if (zn != null) {
            size = r.size(zn, m.path("size"));
            if (size == 0) {
                throw r.error(zn, m.path("size"), "expected a size of at least 4KiB, got "
                        + r.scalar(zn, "", "").strip());
            }
            r.pageMultiple(zn, m.path("size"), size);
            if (size > memory - start) {
                throw r.error(zn, m.path("size"), "the " + what + " " + Units.formatHex(start) + ".."
                        + Units.formatHex(start + size) + " extends past the end of guest memory (vm.memory = "
                        + Units.formatSize(memory) + " = " + Units.formatHex(memory) + ")");
            }
        } else if (size > memory - start) {
            throw r.error(m.node(), m.path("size"), "the " + what + " extends past the end of guest memory");
        }
        return new Range(start, size);
    }

    private void insideMemory(Node n, String path, long a) {
        if (a >= memory) {
            throw r.error(n, path, "expected an address inside guest memory (below vm.memory = "
                    + Units.formatSize(memory) + " = " + Units.formatHex(memory) + "), got "
                    + r.scalar(n, "", "").strip());
        }
    }
}
