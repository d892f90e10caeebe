package dev.apfsim.report;

/** The few JSON pieces the streaming writers need, appended to a {@link StringBuilder} without garbage. */
final class Json {
    private Json() {
    }

    /** Appends {@code s} as a JSON string literal (quotes included). */
    static StringBuilder string(StringBuilder sb, String s) {
        sb.append('"');
        if (s == null) {
            return sb.append('"');
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        sb.append("\\u");
                        String hex = Integer.toHexString(c);
                        sb.append("0000", hex.length(), 4).append(hex);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"');
    }

    /** Appends nanoseconds as microseconds with exactly three decimals (1234567 ns → {@code 1234.567}). */
    static StringBuilder micros(StringBuilder sb, long ns) {
        if (ns < 0) {
            sb.append('-');
            ns = -ns;
        }
        sb.append(ns / 1000).append('.');
        long frac = ns % 1000;
        if (frac < 100) {
            sb.append('0');
        }
        if (frac < 10) {
            sb.append('0');
        }
        return sb.append(frac);
    }

    /** {@code "0x1f"}: how tokens, addresses and MSRs read best in a viewer. */
    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
