package dev.apfsim.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Number formatting and plain-text tables for the human-readable output. */
final class Fmt {
    private Fmt() {
    }

    /** 1234567 -> "1,234,567". */
    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** A rate with about three significant digits: 12345.6 -> "12,346", 12.345 -> "12.3", 1.2345 -> "1.23". */
    static String rate(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return String.valueOf(v);
        }
        double a = Math.abs(v);
        if (a >= 100 || v == 0) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        return String.format(Locale.ROOT, a >= 10 ? "%.1f" : "%.2f", v);
    }

    /** Events per second with an SI prefix: "1.85 M". */
    static String si(double v) {
        if (v >= 1e9) {
            return String.format(Locale.ROOT, "%.2f G", v / 1e9);
        }
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.2f M", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.2f k", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f ", v);
    }

    /** A duration in the largest fitting unit, about three significant digits: "850 ns", "12.3 us", "1.25 ms". */
    static String duration(long ns) {
        if (ns < 0) {
            return "-" + duration(-ns);
        }
        if (ns < 1_000) {
            return ns + " ns";
        }
        String[] units = {"us", "ms", "s"};
        double v = ns / 1_000.0;
        int u = 0;
        while (u < units.length - 1 && v >= 1_000) {
            v /= 1_000;
            u++;
        }
        String num = v >= 100 ? String.format(Locale.ROOT, "%.0f", v)
                : String.format(Locale.ROOT, v >= 10 ? "%.1f" : "%.2f", v);
        return num + " " + units[u];
    }

    /** Like {@link #duration} up to 1,000 s, then in min, h, d or years (365 d): "16.7 min", "100 y". */
    static String span(long ns) {
        double sec = ns / 1e9;
        if (sec < 1_000) {
            return duration(ns);
        }
        double[] sizes = {60, 3_600, 86_400, 365 * 86_400.0};
        String[] names = {"min", "h", "d", "y"};
        int u = 0;
        while (u < sizes.length - 1 && sec / sizes[u + 1] >= 1) {
            u++;
        }
        double v = sec / sizes[u];
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, names[u]);
    }

    /** Seconds the way ftrace prints timestamps: 1234567890 ns -> "1.234567". */
    static String ftraceSeconds(long ns) {
        long micros = ns / 1_000;
        return String.format(Locale.ROOT, "%d.%06d", micros / 1_000_000, micros % 1_000_000);
    }

    static String percent(long part, long whole) {
        if (whole <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
    }

    /** Relative change of {@code b} against {@code a}: "+17.8%", "-3.0%"; "" if both are 0, "n/a" if only a is. */
    static String change(double a, double b) {
        if (a == b) {
            return a == 0 ? "" : "0.0%";
        }
        if (a == 0) {
            return "n/a";
        }
        double pct = (b - a) / Math.abs(a) * 100;
        return Math.abs(pct) < 0.05 ? "0.0%" : String.format(Locale.ROOT, "%+.1f%%", pct);
    }

    /** Difference of two percentages in percentage points: "+3.2pp". */
    static String points(double a, double b) {
        if (a == b) {
            return a == 0 ? "" : "0.0pp";
        }
        return Math.abs(b - a) < 0.05 ? "0.0pp" : String.format(Locale.ROOT, "%+.1fpp", b - a);
    }

    /** Cuts {@code s} to {@code max} characters, marking the cut with "~". */
    static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "~";
    }

    /** A table with a header row; columns separated by two spaces, text left-aligned, numbers right-aligned. */
    static final class Table {
        private final String[] header;
        private final boolean[] right;
        private final List<String[]> rows = new ArrayList<>();

        /** Column names; a name starting with '>' is right-aligned (the '>' is not printed). */
        Table(String... columns) {
            header = new String[columns.length];
            right = new boolean[columns.length];
            for (int i = 0; i < columns.length; i++) {
                right[i] = columns[i].startsWith(">");
                header[i] = right[i] ? columns[i].substring(1) : columns[i];
            }
        }

        Table row(Object... cells) {
            String[] r = new String[header.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = i < cells.length && cells[i] != null ? cells[i].toString() : "";
            }
            rows.add(r);
            return this;
        }

        /** Renames column {@code i} (alignment unchanged). */
        void rename(int i, String name) {
            header[i] = name;
        }

        boolean isEmpty() {
            return rows.isEmpty();
        }

        List<String> lines() {
            int[] w = new int[header.length];
            for (int i = 0; i < w.length; i++) {
                w[i] = header[i].length();
                for (String[] r : rows) {
                    w[i] = Math.max(w[i], r[i].length());
                }
            }
            List<String> out = new ArrayList<>();
            out.add(line(header, w));
            for (String[] r : rows) {
                out.add(line(r, w));
            }
            return out;
        }

        private String line(String[] cells, int[] w) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < cells.length; i++) {
                if (i > 0) {
                    b.append("  ");
                }
                String c = cells[i];
                int pad = w[i] - c.length();
                if (right[i]) {
                    b.repeat(' ', pad).append(c);
                } else {
                    b.append(c);
                    if (i < cells.length - 1) {
                        b.repeat(' ', pad);
                    }
                }
            }
            return b.toString().stripTrailing();
        }
    }

    /** name/value pairs laid out in as many columns as fit in {@code width}, filled top to bottom (like ls). */
    static List<String> columns(List<String[]> pairs, int width) {
        List<String> out = new ArrayList<>();
        if (pairs.isEmpty()) {
            return out;
        }
        int nw = 0;
        int vw = 0;
        for (String[] p : pairs) {
            nw = Math.max(nw, p[0].length());
            vw = Math.max(vw, p[1].length());
        }
        int cell = nw + 2 + vw;
        int gap = 4;
        int cols = Math.max(1, (width + gap) / (cell + gap));
        int rowsN = (pairs.size() + cols - 1) / cols;
        cols = (pairs.size() + rowsN - 1) / rowsN;
        for (int r = 0; r < rowsN; r++) {
            StringBuilder b = new StringBuilder();
            for (int c = 0; c < cols; c++) {
                int i = c * rowsN + r;
                if (i >= pairs.size()) {
                    break;
                }
                if (c > 0) {
                    b.repeat(' ', gap);
                }
                String[] p = pairs.get(i);
                b.append(p[0]).repeat(' ', nw - p[0].length() + 2 + vw - p[1].length()).append(p[1]);
            }
            out.add(b.toString());
        }
        return out;
    }
}
