package dev.apfsim.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;

/**
 * Inline SVG charts, drawn in Java so the report needs no script and no network: line charts (linear, log or
 * categorical x axis, optionally with shaded min–max bands) and stacked horizontal bars. Every chart is an {@code <svg class="chart">} with a title, labelled axes
 * and a legend; every data mark carries {@code class="mark"} and a {@code <title>} (the browser's tooltip).
 */
final class Svg {
    private Svg() {
    }

    /** Okabe–Ito colours (colour-blind safe), then a few more. */
    static final List<String> PALETTE = List.of("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
            "#8C6D1F", "#000000", "#999999", "#F0E442");

    static String color(int i) {
        return PALETTE.get(Math.floorMod(i, PALETTE.size()));
    }

    /** How an axis maps values; CATEGORY puts the values 0, 1, 2, ... one tick each (the format names them). */
    enum Scale { LINEAR, LOG, CATEGORY }

    /** An axis: its label (with unit), scale, optional fixed bounds and how tick values print. */
    record Axis(String label, Scale scale, Double min, Double max, DoubleFunction<String> format) {
        static Axis linear(String label, DoubleFunction<String> format) {
            return new Axis(label, Scale.LINEAR, null, null, format);
        }

        Axis bounded(Double lo, Double hi) {
            return new Axis(label, scale, lo, hi, format);
        }
    }

    /**
     * One line: x and y of equal length; {@code step} draws a staircase (a CDF); {@code dash} is an SVG
     * {@code stroke-dasharray} (null: solid), so lines that coincide stay distinguishable.
     */
    record Series(String name, String color, double[] x, double[] y, boolean step, String dash) {
        Series(String name, String color, double[] x, double[] y) {
            this(name, color, x, y, false, null);
        }

        /** Same points as {@code o}: drawn on top of each other. */
        boolean samePoints(Series o) {
            return java.util.Arrays.equals(x, o.x) && java.util.Arrays.equals(y, o.y);
        }

        Series named(String n) {
            return new Series(n, color, x, y, step, dash);
        }
    }

    /** Dash patterns for the i-th of several lines: solid, dashed, dotted, dash-dot, ... */
    static String dash(int i) {
        String[] d = {null, "7 4", "2 3", "9 3 2 3", "4 2"};
        return d[Math.floorMod(i, d.length)];
    }

    /**
     * Gives each series whose points equal an earlier one's a "(same as ...)" note and a dash of its own, so a line
     * hidden under another one still shows in the legend and as a dashed stroke.
     */
    static List<Series> noteCoinciding(List<Series> series, java.util.function.Function<Series, String> shortName) {
        List<Series> out = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            boolean allZero = java.util.Arrays.stream(s.y()).allMatch(v -> v == 0);
            for (int j = 0; j < i && !allZero; j++) { // lines on the axis need no note
                if (s.samePoints(series.get(j))) {
                    s = new Series(s.name() + " (same as " + shortName.apply(series.get(j)) + ")", s.color(), s.x(),
                            s.y(), s.step(), s.dash() != null ? s.dash() : dash(i));
                    break;
                }
            }
            out.add(s);
        }
        return out;
    }

    /** A shaded area between {@code lo} and {@code hi} over {@code x} (the spread behind a line of means). */
    record Band(String name, String color, double[] x, double[] lo, double[] hi) {
    }

    private static final int FONT = 12;
    private static final int LEFT = 72;
    private static final int RIGHT = 30;
    private static final int BOTTOM = 46;

    // ---- line chart --------------------------------------------------------------------------------------------

    static String lineChart(String id, String title, Axis xAxis, Axis yAxis, List<Series> series, int width,
                            int height, String emptyNote) {
        return lineChart(id, title, xAxis, yAxis, series, List.of(), width, height, emptyNote);
    }

    /** A line chart with {@code bands} shaded under the lines (they count for the y range, not the legend). */
    static String lineChart(String id, String title, Axis xAxis, Axis yAxis, List<Series> series, List<Band> bands,
                            int width, int height, String emptyNote) {
        List<String> names = series.stream().map(Series::name).toList();
        List<String> colors = series.stream().map(Series::color).toList();
        Legend legend = legend(names, colors, series.stream().map(Series::dash).toList(), width - LEFT - RIGHT);
        int top = 36 + legend.height();
        int plotW = width - LEFT - RIGHT;
        int plotH = height - top - BOTTOM;

        List<Series> extent = new ArrayList<>(series);
        for (Band b : bands) {
            extent.add(new Series(b.name(), b.color(), b.x(), b.lo()));
            extent.add(new Series(b.name(), b.color(), b.x(), b.hi()));
        }
        double[] xr = range(extent, true, xAxis);
        double[] yr = range(extent, false, yAxis);
        boolean empty = xr == null || yr == null;
        if (empty) { // the frame of an empty chart: the axes' own bounds where they have them
            xr = new double[]{xAxis.min() != null ? xAxis.min() : xAxis.scale() == Scale.LOG ? 1e3 : 0,
                    xAxis.max() != null ? xAxis.max() : xAxis.scale() == Scale.LOG ? 1e6 : 1};
            yr = new double[]{yAxis.min() != null ? yAxis.min() : 0, yAxis.max() != null ? yAxis.max() : 1};
        }
        Ticks xt = ticks(xr[0], xr[1], xAxis.scale(), Math.max(3, plotW / 90));
        Ticks yt = ticks(yr[0], yr[1], yAxis.scale(), Math.max(3, plotH / 45));
        Mapper mx = new Mapper(xt.lo(), xt.hi(), xAxis.scale(), LEFT, LEFT + plotW);
        Mapper my = new Mapper(yt.lo(), yt.hi(), yAxis.scale(), top + plotH, top);

        StringBuilder s = open(id, title, width, height);
        legend.draw(s, LEFT, 40);
        // grid and ticks
        s.append("<g class=\"axis\">");
        for (double v : yt.values()) {
            double py = my.map(v);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>",
                    LEFT, LEFT + plotW, py, py));
            text(s, LEFT - 6, py + 4, "end", yAxis.format().apply(v), null);
        }
        for (double v : xt.values()) {
            double px = mx.map(v);
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>",
                    px, px, top, top + plotH));
            text(s, px, top + plotH + 16, "middle", xAxis.format().apply(v), null);
        }
        s.append(String.format(Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>",
                LEFT, top, plotW, plotH));
        text(s, LEFT + plotW / 2.0, height - 8, "middle", xAxis.label(), "axis-label");
        s.append(String.format(Locale.ROOT,
                "<text class=\"axis-label\" transform=\"translate(%d,%.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>",
                16, top + plotH / 2.0, esc(yAxis.label())));
        s.append("</g>");
        if (empty) {
            text(s, LEFT + plotW / 2.0, top + plotH / 2.0, "middle", emptyNote, "empty-note");
        } else {
            s.append(String.format(Locale.ROOT,
                    "<defs><clipPath id=\"%s-clip\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></clipPath></defs>",
                    id, LEFT - 2, top - 2, plotW + 4, plotH + 4));
            s.append("<g class=\"series\" clip-path=\"url(#").append(id).append("-clip)\">");
            for (Band b : bands) {
                band(s, b, mx, my);
            }
            for (Series se : series) {
                path(s, se, mx, my);
            }
            s.append("</g>");
        }
        return s.append("</svg>").toString();
    }

    private static void path(StringBuilder s, Series se, Mapper mx, Mapper my) {
        StringBuilder d = new StringBuilder();
        double prevY = Double.NaN;
        double firstX = 0;
        double firstY = 0;
        int points = 0;
        for (int i = 0; i < se.x().length; i++) {
            double x = se.x()[i];
            double y = se.y()[i];
            if (!Double.isFinite(x) || !Double.isFinite(y) || (mx.scale() == Scale.LOG && x <= 0)) {
                continue;
            }
            double px = mx.map(x);
            double py = my.map(y);
            if (points == 0) {
                d.append(String.format(Locale.ROOT, "M%.1f %.1f", px, py));
                firstX = px;
                firstY = py;
            } else {
                if (se.step() && !Double.isNaN(prevY)) {
                    d.append(String.format(Locale.ROOT, "L%.1f %.1f", px, prevY));
                }
                d.append(String.format(Locale.ROOT, "L%.1f %.1f", px, py));
            }
            prevY = py;
            points++;
        }
        if (points == 0) {
            return;
        }
        if (points == 1) { // a single point: a dot
            s.append(String.format(Locale.ROOT, "<circle class=\"mark\" r=\"3.5\" cx=\"%.1f\" cy=\"%.1f\" fill=\"%s\">",
                    firstX, firstY, se.color()));
            s.append("<title>").append(esc(se.name())).append("</title></circle>");
            return;
        }
        s.append("<path class=\"mark\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke=\"")
                .append(se.color()).append('"');
        if (se.dash() != null) {
            s.append(" stroke-dasharray=\"").append(se.dash()).append('"');
        }
        s.append(" d=\"").append(d).append("\"><title>").append(esc(se.name())).append("</title></path>");
    }

    /** The band as one closed path: along hi left to right, back along lo; nothing for fewer than two points. */
    private static void band(StringBuilder s, Band b, Mapper mx, Mapper my) {
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < b.x().length; i++) {
            if (Double.isFinite(b.x()[i]) && Double.isFinite(b.lo()[i]) && Double.isFinite(b.hi()[i])) {
                pts.add(new double[]{mx.map(b.x()[i]), my.map(b.lo()[i]), my.map(b.hi()[i])});
            }
        }
        if (pts.size() < 2) {
            return;
        }
        StringBuilder d = new StringBuilder();
        for (int i = 0; i < pts.size(); i++) {
            d.append(String.format(Locale.ROOT, "%s%.1f %.1f", i == 0 ? "M" : "L", pts.get(i)[0], pts.get(i)[2]));
        }
        for (int i = pts.size() - 1; i >= 0; i--) {
            d.append(String.format(Locale.ROOT, "L%.1f %.1f", pts.get(i)[0], pts.get(i)[1]));
        }
        s.append("<path class=\"mark band\" fill=\"").append(b.color())
                .append("\" fill-opacity=\"0.16\" stroke=\"").append(b.color())
                .append("\" stroke-opacity=\"0.35\" stroke-width=\"1\" d=\"").append(d).append("Z\"><title>")
                .append(esc(b.name())).append("</title></path>");
    }

    // ---- stacked bars ------------------------------------------------------------------------------------------

    /**
     * Horizontal stacked bars, one row per label, each row normalised to 100 %.
     *
     * @param values per row, one value per category (any unit: shares are computed per row)
     * @param unit   how a value prints in the tooltip
     */
    static String stackedBars(String id, String title, String xLabel, List<String> rows, List<double[]> values,
                              List<String> categories, List<String> colors, int width, DoubleFunction<String> unit) {
        int labelW = 0;
        for (String r : rows) {
            labelW = Math.max(labelW, textWidth(r));
        }
        int left = Math.min(Math.max(80, labelW + 16), width / 3);
        int plotW = width - left - RIGHT;
        Legend legend = legend(categories, colors, null, width - left - RIGHT);
        int top = 36 + legend.height();
        int rowH = 22;
        int gap = 8;
        int plotH = rows.size() * (rowH + gap) + gap;
        int height = top + plotH + BOTTOM;
        StringBuilder s = open(id, title, width, height);
        legend.draw(s, left, 40);
        s.append("<g class=\"axis\">");
        for (int p = 0; p <= 100; p += 20) {
            double px = left + plotW * p / 100.0;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>",
                    px, px, top, top + plotH));
            text(s, px, top + plotH + 16, "middle", p + "%", null);
        }
        text(s, left + plotW / 2.0, height - 8, "middle", xLabel, "axis-label");
        s.append("</g><g class=\"series\">");
        for (int r = 0; r < rows.size(); r++) {
            double y = top + gap + r * (rowH + gap);
            text(s, left - 8, y + rowH / 2.0 + 4, "end", rows.get(r), null);
            double[] v = values.get(r);
            double total = 0;
            for (double x : v) {
                total += Math.max(0, x);
            }
            double x = left;
            for (int c = 0; c < v.length && total > 0; c++) {
                double share = Math.max(0, v[c]) / total;
                double w = share * plotW;
                if (w <= 0) {
                    continue;
                }
                s.append(String.format(Locale.ROOT,
                        "<rect class=\"mark\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\">", x, y,
                        w, rowH, colors.get(c)));
                s.append("<title>").append(esc(rows.get(r) + " · " + categories.get(c) + ": "
                        + String.format(Locale.ROOT, "%.1f%%", share * 100) + " (" + unit.apply(v[c]) + ")"));
                s.append("</title></rect>");
                if (w >= 38) {
                    s.append(String.format(Locale.ROOT,
                            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"bar-label%s\">%.0f%%</text>",
                            x + w / 2, y + rowH / 2.0 + 4, dark(colors.get(c)) ? " on-dark" : "",
                            share * 100));
                }
                x += w;
            }
            if (total <= 0) {
                text(s, left + 6, y + rowH / 2.0 + 4, "start", "no time recorded", "empty-note");
            }
        }
        return s.append("</g></svg>").toString();
    }

    // ---- pieces ------------------------------------------------------------------------------------------------

    private static StringBuilder open(String id, String title, int width, int height) {
        StringBuilder s = new StringBuilder(4096);
        s.append(String.format(Locale.ROOT,
                "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                        + "width=\"%d\" height=\"%d\" role=\"img\" aria-labelledby=\"%s-title\">",
                id, width, height, width, height, id));
        s.append("<title id=\"").append(id).append("-title\">").append(esc(title)).append("</title>");
        s.append("<text class=\"chart-title\" x=\"").append(LEFT).append("\" y=\"18\">").append(esc(title))
                .append("</text>");
        return s;
    }

    private static void text(StringBuilder s, double x, double y, String anchor, String t, String cls) {
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor));
        if (cls != null) {
            s.append(" class=\"").append(cls).append('"');
        }
        s.append('>').append(esc(t)).append("</text>");
    }

    /** Rough width of a label at the chart font size (no font metrics without a browser). */
    static int textWidth(String s) {
        return (int) Math.ceil(s.length() * FONT * 0.6);
    }

    private static boolean dark(String hex) {
        int r = Integer.parseInt(hex.substring(1, 3), 16);
        int g = Integer.parseInt(hex.substring(3, 5), 16);
        int b = Integer.parseInt(hex.substring(5, 7), 16);
        return 0.299 * r + 0.587 * g + 0.114 * b < 140;
    }

    /**
     * Legend entries laid out in rows of the available width: a colour swatch, or for lines ({@code dashes} not
     * null) a short stroke in the line's dash pattern.
     */
    private record Legend(List<String> names, List<String> colors, List<String> dashes, List<double[]> positions,
                          int height) {
        void draw(StringBuilder s, int x0, int y0) {
            s.append("<g class=\"legend\">");
            for (int i = 0; i < names.size(); i++) {
                double[] p = positions.get(i);
                if (dashes != null) {
                    s.append(String.format(Locale.ROOT,
                            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"%s/>",
                            x0 + p[0], x0 + p[0] + 12, y0 + p[1] - 4, y0 + p[1] - 4, colors.get(i),
                            dashes.get(i) == null ? "" : " stroke-dasharray=\"" + shortDash(dashes.get(i)) + "\""));
                    text(s, x0 + p[0] + 16, y0 + p[1], "start", names.get(i), null);
                    continue;
                }
                s.append(String.format(Locale.ROOT,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>", x0 + p[0],
                        y0 + p[1] - 10, colors.get(i)));
                text(s, x0 + p[0] + 16, y0 + p[1], "start", names.get(i), null);
            }
            s.append("</g>");
        }
    }

    /** A dash pattern scaled to the 12-pixel legend stroke. */
    private static String shortDash(String dash) {
        StringBuilder b = new StringBuilder();
        for (String part : dash.split(" ")) {
            b.append(b.isEmpty() ? "" : " ").append(Math.max(1, Integer.parseInt(part) / 2));
        }
        return b.toString();
    }

    private static Legend legend(List<String> names, List<String> colors, List<String> dashes, int width) {
        List<double[]> pos = new ArrayList<>();
        double x = 0;
        double y = 0;
        for (String n : names) {
            double w = 16 + textWidth(n) + 18;
            if (x > 0 && x + w > width) {
                x = 0;
                y += 18;
            }
            pos.add(new double[]{x, y});
            x += w;
        }
        return new Legend(names, colors, dashes, pos, names.isEmpty() ? 0 : (int) y + 18);
    }

    /** Data bounds over all series, or the axis' fixed bounds; null when there is nothing to draw. */
    private static double[] range(List<Series> series, boolean x, Axis axis) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            double[] a = x ? s.x() : s.y();
            double[] other = x ? s.y() : s.x();
            for (int i = 0; i < a.length; i++) {
                double v = a[i];
                if (!Double.isFinite(v) || !Double.isFinite(other[i])) {
                    continue;
                }
                if (axis.scale() == Scale.LOG && v <= 0) {
                    continue;
                }
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (lo > hi) {
            return null;
        }
        if (axis.min() != null) {
            lo = axis.min();
        }
        if (axis.max() != null) {
            hi = Math.max(axis.max(), axis.min() != null && axis.max() <= axis.min() ? axis.min() + 1 : axis.max());
        }
        if (hi <= lo && axis.scale() != Scale.CATEGORY) {
            if (axis.scale() == Scale.LOG) {
                lo /= 2;
                hi *= 2;
            } else {
                hi = lo == 0 ? 1 : lo + Math.abs(lo) * 0.1;
                if (axis.min() == null && lo > 0) {
                    lo = 0;
                }
            }
        }
        return new double[]{lo, hi};
    }

    record Ticks(double lo, double hi, double[] values) {
    }

    /** Nice tick values covering [lo, hi]: 1-2-5 steps, or decades (with 2 and 5 when there are few). */
    static Ticks ticks(double lo, double hi, Scale scale, int target) {
        if (scale == Scale.CATEGORY) { // one tick per category, half a step of margin on each side
            int first = (int) Math.round(lo);
            int last = (int) Math.round(hi);
            double[] v = new double[last - first + 1];
            for (int i = 0; i < v.length; i++) {
                v[i] = first + i;
            }
            return new Ticks(first - 0.5, last + 0.5, v);
        }
        if (scale == Scale.LOG) {
            lo /= 1.25; // a margin so the first and last points do not sit on the frame
            hi *= 1.25;
            List<Double> all = new ArrayList<>();
            List<Double> decades = new ArrayList<>();
            for (int e = (int) Math.floor(Math.log10(lo)); e <= (int) Math.ceil(Math.log10(hi)); e++) {
                double d = Math.pow(10, e);
                for (double m : new double[]{1, 2, 5}) {
                    double v = m * d;
                    if (v >= lo && v <= hi) {
                        all.add(v);
                        if (m == 1) {
                            decades.add(v);
                        }
                    }
                }
            }
            // 1-2-5 when they fit, else decades
            List<Double> v = all.size() <= target + 2 || decades.size() < 2 ? all : decades;
            return new Ticks(lo, hi, v.stream().mapToDouble(Double::doubleValue).toArray());
        }
        double span = hi - lo;
        double raw = span / Math.max(1, target);
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[]{1, 2, 2.5, 5, 10}) {
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        }
        double start = Math.floor(lo / step + 1e-9) * step;
        double end = Math.ceil(hi / step - 1e-9) * step;
        List<Double> v = new ArrayList<>();
        for (double t = start; t <= end + step * 1e-6; t += step) {
            v.add(Math.abs(t) < step * 1e-9 ? 0 : t);
        }
        return new Ticks(start, end, v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private record Mapper(double lo, double hi, Scale scale, double p0, double p1) {
        double map(double v) {
            double f;
            if (scale == Scale.LOG) {
                f = (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
            } else {
                f = (v - lo) / (hi - lo);
            }
            return p0 + f * (p1 - p0);
        }
    }

    // ---- formatting --------------------------------------------------------------------------------------------

    /** A duration in ns, in the largest unit that keeps it readable: 500 ns, 20 µs, 1.5 ms, 2 s. */
    static String duration(double ns) {
        double a = Math.abs(ns);
        if (a >= 1e9) {
            return num(ns / 1e9) + " s";
        } else if (a >= 1e6) {
            return num(ns / 1e6) + " ms";
        } else if (a >= 1e3) {
            return num(ns / 1e3) + " µs";
        }
        return num(ns) + " ns";
    }

    /** 1200 → 1.2k, 3000000 → 3M. */
    static String si(double v) {
        double a = Math.abs(v);
        if (a >= 1e9) {
            return num(v / 1e9) + "G";
        } else if (a >= 1e6) {
            return num(v / 1e6) + "M";
        } else if (a >= 1e3) {
            return num(v / 1e3) + "k";
        }
        return num(v);
    }

    /** Up to three significant digits, no trailing zeros. */
    static String num(double v) {
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        String s;
        if (a >= 100) {
            s = String.format(Locale.ROOT, "%.0f", v);
        } else if (a >= 10) {
            s = String.format(Locale.ROOT, "%.1f", v);
        } else if (a >= 1) {
            s = String.format(Locale.ROOT, "%.2f", v);
        } else {
            s = String.format(Locale.ROOT, "%.3g", v);
        }
        if (s.contains(".") && !s.contains("e")) {
            s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return s;
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    if (c < 0x20 && c != '\n' && c != '\t') {
                        b.append(' ');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
