package dev.apfsim.realkvm.events;

/** Kernel {@code %#llx}: lower-case hex with 0x, and 0 as 0x0. */
final class Hex {
    private Hex() {
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** Parses 0x-prefixed hex or decimal. */
    static long parse(String s) {
        s = s.trim();
        if (s.startsWith("0x") || s.startsWith("0X")) {
            return Long.parseUnsignedLong(s.substring(2), 16);
        }
        return Long.parseLong(s);
    }
}
