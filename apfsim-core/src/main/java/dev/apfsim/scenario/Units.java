package dev.apfsim.scenario;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsing and printing of the quantities in scenario files.
 *
 * <ul>
 *   <li>Durations: a number with a unit {@code ns}, {@code us} (also {@code µs}), {@code ms}, {@code s},
 *       {@code min}; a plain integer is nanoseconds. Decimals are allowed when the result is a whole number of
 *       nanoseconds ({@code 1.5ms}, {@code 0.5us}); {@code 1.5ns} is an error.</li>
 *   <li>Sizes: {@code B}, {@code KiB}, {@code MiB}, {@code GiB}, {@code TiB}, the binary shorthands {@code K},
 *       {@code M}, {@code G}, {@code T}, or a plain integer (decimal or {@code 0x} hex) = bytes. Decimals are allowed
 *       when the result is a whole number of bytes ({@code 1.5GiB}). {@code KB}/{@code MB}/... are rejected as
 *       ambiguous.</li>
 *   <li>Integers and addresses: decimal or {@code 0x} hex; {@code _} may separate digits.</li>
 * </ul>
 *
 * Every parse method throws {@link IllegalArgumentException} whose message is a complete sentence fragment of the
 * form {@code expected ..., got "..."}, suitable as the detail of a {@link ScenarioException}.
 */
public final class Units {
    public static final long NS = 1;
    public static final long US = 1_000;
    public static final long MS = 1_000_000;
    public static final long S = 1_000_000_000;
    public static final long MIN = 60 * S;

    public static final long KIB = 1L << 10;
    public static final long MIB = 1L << 20;
    public static final long GIB = 1L << 30;
    public static final long TIB = 1L << 40;

    private static final Pattern NUMBER_UNIT =
            Pattern.compile("([+-]?)([0-9][0-9_]*(?:\\.[0-9_]*)?|\\.[0-9][0-9_]*)\\s*([A-Za-zµμ]*)");
    private static final Pattern HEX = Pattern.compile("([+-]?)0[xX]([0-9a-fA-F_]+)");
    private static final Pattern DECIMAL = Pattern.compile("([+-]?)([0-9][0-9_]*)");

    private static final String DURATION_HINT = "a duration like 50us";
    private static final String DURATION_UNITS = " (units: ns, us, ms, s, min; a plain integer is ns)";
    private static final String SIZE_HINT = "a size like 64MiB";
    private static final String SIZE_UNITS = " (units: B, KiB, MiB, GiB, TiB or K, M, G, T; a plain integer is bytes)";

    private Units() {
    }

    /** Parses a duration to nanoseconds (never negative). */
    public static long parseDuration(String text) {
        String s = text == null ? "" : text.strip();
        tooLong(s, text, DURATION_HINT);
        Matcher m = NUMBER_UNIT.matcher(s);
        if (!m.matches() || !validDigits(m.group(2))) {
            throw new IllegalArgumentException("expected " + DURATION_HINT + ", got " + quote(text) + DURATION_UNITS);
        }
        if (m.group(1).equals("-")) {
            throw new IllegalArgumentException("expected a duration that is not negative, got " + quote(text));
        }
        String unit = m.group(3);
        long mult = switch (unit) {
            case "" -> 0;
            case "ns" -> NS;
            case "us", "µs", "μs" -> US;
            case "ms" -> MS;
            case "s" -> S;
            case "min" -> MIN;
            default -> -1;
        };
        if (mult < 0) {
            throw new IllegalArgumentException("expected " + DURATION_HINT + ", got " + quote(text)
                    + " (unknown unit \"" + unit + "\"; units: ns, us, ms, s, min)");
        }
        BigDecimal number = new BigDecimal(m.group(2).replace("_", ""));
        if (mult == 0) {
            if (number.scale() > 0) {
                throw new IllegalArgumentException("expected " + DURATION_HINT + ", got " + quote(text)
                        + " (a number with a fraction needs a unit, like 1.5ms)");
            }
            mult = NS;
        }
        return whole(number.multiply(BigDecimal.valueOf(mult)), text, "duration", "nanoseconds");
    }

    /** Parses a size to bytes (never negative). Hex integers ({@code 0x100000}) are bytes. */
    public static long parseSize(String text) {
        String s = text == null ? "" : text.strip();
        tooLong(s, text, SIZE_HINT);
        Matcher h = HEX.matcher(s);
        if (h.matches()) {
            if (h.group(1).equals("-")) {
                throw new IllegalArgumentException("expected a size that is not negative, got " + quote(text));
            }
            return hex(h.group(2), text, SIZE_HINT + " or a 0x hex number of bytes");
        }
        Matcher m = NUMBER_UNIT.matcher(s);
        if (!m.matches() || !validDigits(m.group(2))) {
            throw new IllegalArgumentException("expected " + SIZE_HINT + ", got " + quote(text) + SIZE_UNITS);
        }
        if (m.group(1).equals("-")) {
            throw new IllegalArgumentException("expected a size that is not negative, got " + quote(text));
        }
        String unit = m.group(3);
        long mult = switch (unit) {
            case "", "B" -> 1;
            case "KiB", "K" -> KIB;
            case "MiB", "M" -> MIB;
            case "GiB", "G" -> GIB;
            case "TiB", "T" -> TIB;
            default -> -1;
        };
        if (mult < 0) {
            String why = switch (unit) {
                case "KB", "kB", "kb", "Kb" -> " (\"" + unit + "\" is ambiguous: use KiB for 1024 bytes)";
                case "MB", "mb" -> " (\"" + unit + "\" is ambiguous: use MiB for 2^20 bytes)";
                case "GB", "gb" -> " (\"" + unit + "\" is ambiguous: use GiB for 2^30 bytes)";
                case "TB", "tb" -> " (\"" + unit + "\" is ambiguous: use TiB for 2^40 bytes)";
                default -> " (unknown unit \"" + unit + "\"; units: B, KiB, MiB, GiB, TiB or K, M, G, T)";
            };
            throw new IllegalArgumentException("expected " + SIZE_HINT + ", got " + quote(text) + why);
        }
        BigDecimal number = new BigDecimal(m.group(2).replace("_", ""));
        return whole(number.multiply(BigDecimal.valueOf(mult)), text, "size", "bytes");
    }

    /**
     * Parses a signed integer, decimal or {@code 0x} hex. Hex may use all 64 bits ({@code 0xffffffffffffffff} is
     * -1), so MSR values can be written naturally; decimal must fit a signed long.
     */
    public static long parseInteger(String text) {
        String s = text == null ? "" : text.strip();
        tooLong(s, text, "an integer that fits in 64 bits");
        Matcher h = HEX.matcher(s);
        if (h.matches()) {
            long v = hex(h.group(2), text, "an integer (decimal or 0x hex)");
            return h.group(1).equals("-") ? -v : v;
        }
        Matcher d = DECIMAL.matcher(s);
        if (d.matches() && validDigits(d.group(2))) {
            try {
                return Long.parseLong(d.group(1) + d.group(2).replace("_", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected an integer that fits in 64 bits, got " + quote(text));
            }
        }
        throw new IllegalArgumentException("expected an integer (decimal or 0x hex), got " + quote(text));
    }

    /** A guest-physical address: an integer (usually hex) or a size with a unit ({@code 3MiB}). */
    public static long parseAddress(String text) {
        try {
            return parseSize(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("expected an address like 0x300000 or 3MiB, got " + quote(text));
        }
    }

    /** Shortest exact rendering with the largest fitting unit: 1500000 -> "1.5ms", 0 -> "0ns". */
    public static String formatDuration(long ns) {
        if (ns < 0) {
            return "-" + formatDuration(-ns);
        }
        long[] mults = {MIN, S, MS, US};
        String[] names = {"min", "s", "ms", "us"};
        for (int i = 0; i < mults.length; i++) {
            if (ns >= mults[i]) {
                return plain(BigDecimal.valueOf(ns).divide(BigDecimal.valueOf(mults[i]))) + names[i];
            }
        }
        return ns + "ns";
    }

    /** Exact rendering with the largest unit that divides the size, else bytes: 1073741824 -> "1GiB". */
    public static String formatSize(long bytes) {
        long[] mults = {TIB, GIB, MIB, KIB};
        String[] names = {"TiB", "GiB", "MiB", "KiB"};
        for (int i = 0; i < mults.length; i++) {
            if (bytes != 0 && bytes % mults[i] == 0) {
                return bytes / mults[i] + names[i];
            }
        }
        return bytes + "B";
    }

    /** {@code 0x...} lower-case hex. */
    public static String formatHex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** The end {@code start + size} of a range in hex, exact even past 2^64 ({@code 0x10000000000000000}). */
    public static String formatHexEnd(long start, long size) {
        BigInteger end = new BigInteger(Long.toUnsignedString(start)).add(new BigInteger(Long.toUnsignedString(size)));
        return "0x" + end.toString(16);
    }

    /**
     * {@code s} with the characters a terminal would not show written as <code>&#92;uXXXX</code>: control and format
     * characters (zero-width spaces, bidi marks, BOM), spaces other than U+0020, private-use and unassigned code
     * points. Error messages pass through it, so they show what is really in the file.
     */
    public static String visible(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (invisible(cp)) {
                if (b == null) {
                    b = new StringBuilder(s.length() + 16).append(s, 0, i);
                }
                b.append(cp > 0xffff ? String.format("\\U%08X", cp) : String.format("\\u%04X", cp));
            } else if (b != null) {
                b.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return b == null ? s : b.toString();
    }

    private static boolean invisible(int cp) {
        if (cp == ' ') {
            return false;
        }
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR,
                 Character.PARAGRAPH_SEPARATOR, Character.PRIVATE_USE, Character.SURROGATE,
                 Character.UNASSIGNED -> true;
            default -> false;
        };
    }

    private static String plain(BigDecimal d) {
        return d.stripTrailingZeros().toPlainString();
    }

    /** No quantity needs more than 80 characters; a longer one is refused before a regex or BigDecimal sees it. */
    private static void tooLong(String s, String text, String hint) {
        if (s.length() > 80) {
            throw new IllegalArgumentException("expected " + hint + ", got " + quote(text) + " ("
                    + String.format("%,d", s.length()) + " characters)");
        }
    }

    private static boolean validDigits(String digits) {
        // underscores only between digits: "1_000" yes, "1__0", "_1", "1_" and "1._5" no
        return !digits.contains("__") && !digits.endsWith("_") && !digits.contains("_.") && !digits.contains("._")
                && !digits.equals(".");
    }

    private static long hex(String digits, String text, String hint) {
        if (!validDigits(digits)) {
            throw new IllegalArgumentException("expected " + hint + ", got " + quote(text));
        }
        String clean = digits.replace("_", "");
        BigInteger v = new BigInteger(clean, 16);
        if (v.bitLength() > 64) {
            throw new IllegalArgumentException("expected a value that fits in 64 bits, got " + quote(text));
        }
        return v.longValue();
    }

    private static long whole(BigDecimal v, String text, String what, String unit) {
        BigDecimal stripped = v.stripTrailingZeros();
        if (stripped.scale() > 0) {
            throw new IllegalArgumentException("expected a " + what + " that is a whole number of " + unit + ", got "
                    + quote(text));
        }
        if (stripped.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("expected a " + what + " below 2^63 " + unit + ", got " + quote(text));
        }
        return stripped.longValueExact();
    }

    /** {@code "text"} with quotes, shortened if long; used in every "got ..." part of a message. */
    public static String quote(String text) {
        if (text == null) {
            return "nothing";
        }
        String t = text.length() > 60 ? text.substring(0, 57) + "..." : text;
        StringBuilder b = new StringBuilder("\"");
        for (char c : t.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
