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

    /** An address below {@code vm.memory}. Addresses and sizes are unsigned 64-bit: {@code 0xffffffffffffffff} is
     * far past the end of memory, never -1. */
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
            if (Long.compareUnsigned(size, memory - start) > 0) {
                throw r.error(zn, m.path("size"), "the " + what + " " + Units.formatHex(start) + ".."
                        + Units.formatHexEnd(start, size) + " extends past the end of guest memory (vm.memory = "
                        + Units.formatSize(memory) + " = " + Units.formatHex(memory) + ")");
            }
        } else if (Long.compareUnsigned(size, memory - start) > 0) {
            throw r.error(m.node(), m.path("size"), "the " + what + " extends past the end of guest memory");
        }
        return new Range(start, size);
    }

    /** An address at most {@code vm.memory} (the start of an empty range may be the end of memory). */
    long addressUpToEnd(Node n, String path) {
        long a = r.address(n, path);
        if (Long.compareUnsigned(a, memory) > 0) {
            insideMemory(n, path, a);
        }
        return a;
    }

    private void insideMemory(Node n, String path, long a) {
        if (Long.compareUnsigned(a, memory) >= 0) {
            throw r.error(n, path, "expected an address inside guest memory (below vm.memory = "
                    + Units.formatSize(memory) + " = " + Units.formatHex(memory) + "), got "
                    + r.scalar(n, "", "").strip());
        }
    }
}
