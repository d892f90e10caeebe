package dev.apfsim.report;

import dev.apfsim.campaign.CampaignEngine;
import dev.apfsim.campaign.Row;
import dev.apfsim.campaign.Table;
import dev.apfsim.metrics.TimeCategory;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;
import java.util.function.ToDoubleFunction;

/**
 * The sweep report: one self-contained HTML page (inline CSS and SVG, like the run report) that plots each metric
 * against each varied field, one line per combination of the other fields, each point the mean over the seeds with
 * the min–max range shaded; the outcomes of each grid point as stacked bars; and a table of the grid points. Rows
 * are folded into per-point statistics as they are read, so a sweep of any size fits.
 */
public final class SweepReport {
    private SweepReport() {
    }

    /** A figure drawn for each grid point: its label, how a row gives it (NaN: not in this row) and its unit. */
    private record Metric(String label, ToDoubleFunction<List<Object>> value, DoubleFunction<String> format) {
    }

    /** Count, sum, min and max of one metric over one grid point's seeds. */
    private static final class Stat {
        long n;
        double sum;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;

        void add(double v) {
            if (Double.isFinite(v)) {
                n++;
                sum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }

        void add(Stat o) {
            n += o.n;
            sum += o.sum;
            min = Math.min(min, o.min);
            max = Math.max(max, o.max);
        }

        double mean() {
            return n == 0 ? Double.NaN : sum / n;
        }
    }

    /** One grid point: its label, its values of the swept fields, and what its rows add up to. */
    private static final class Point {
        final String label;
        final List<String> params;
        final Map<String, Long> outcomes = new LinkedHashMap<>();
        final Stat[] stats;
        long rows;
        long violations;

        Point(String label, List<String> params, int metrics) {
            this.label = label;
            this.params = params;
            this.stats = new Stat[metrics];
            for (int i = 0; i < metrics; i++) {
                stats[i] = new Stat();
            }
        }
    }

    public static void write(Path path, String title, Table table, CampaignEngine.RowSource rows) throws IOException {
        String html = render(title, table, rows);
        try (Writer w = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
            w.write(html);
        }
    }

    public static String render(String title, Table table, CampaignEngine.RowSource rows) {
        List<Metric> metrics = metrics(table);
        List<String> params = table.params();
        int grid = table.indexOf("grid");
        int label = table.indexOf("label");
        int outcome = table.indexOf("outcome");
        int violations = table.indexOf("violations");
        int seed = table.indexOf("seed");
        if (grid < 0 || label < 0 || outcome < 0 || seed < 0) {
            throw new IllegalArgumentException("not a sweep's table: " + table.names());
        }
        int firstParam = table.indexOf("apf");
        Map<Long, Point> points = new LinkedHashMap<>();
        LinkedHashSet<Long> seeds = new LinkedHashSet<>();
        rows.scan(r -> {
            List<Object> v = r.values();
            Point p = points.computeIfAbsent((Long) v.get(grid), g -> {
                List<String> values = new ArrayList<>();
                for (int i = 0; i < params.size(); i++) {
                    Object x = v.get(firstParam + i);
                    values.add(x == null ? "" : x.toString());
                }
                return new Point(String.valueOf(v.get(label)), values, metrics.size());
            });
            p.rows++;
            p.outcomes.merge(String.valueOf(v.get(outcome)), 1L, Long::sum);
            if (violations >= 0 && v.get(violations) instanceof Long n) {
                p.violations += n;
            }
            if (seeds.size() < 1000) {
                seeds.add((Long) v.get(seed));
            }
            for (int m = 0; m < metrics.size(); m++) {
                p.stats[m].add(metrics.get(m).value().applyAsDouble(v));
            }
        });
        List<Point> list = new ArrayList<>(points.values());
        long total = list.stream().mapToLong(pt -> pt.rows).sum();

        HtmlReport.Page page = new HtmlReport.Page();
        page.head(title);
        page.h1(title);
        List<Integer> varying = varying(list, params);
        page.append("<p class=\"meta\"><b>").text(String.format(Locale.ROOT, "%,d", list.size()))
                .append("</b> grid points · <b>").text(String.format(Locale.ROOT, "%,d", total))
                .append("</b> runs · seeds per point up to <b>")
                .text(Long.toString(list.stream().mapToLong(pt -> pt.rows).max().orElse(0)))
                .append("</b> · varied: <b>").text(varying.isEmpty() ? "nothing (seeds only)"
                        : String.join(", ", varying.stream().map(params::get).toList())).append("</b></p>\n");
        if (list.isEmpty()) {
            page.append("<p class=\"note\">The sweep has no rows yet.</p>\n");
            page.footer();
            return page.toString();
        }
        List<Integer> shown = new ArrayList<>();
        for (int m = 0; m < metrics.size(); m++) {
            int mm = m;
            // a figure that is zero in every run (no sync faults, no idle time) would only add a flat line
            if (list.stream().anyMatch(pt -> pt.stats[mm].n > 0 && (pt.stats[mm].min != 0 || pt.stats[mm].max != 0))) {
                shown.add(m);
            }
        }
        for (int vi : varying) {
            page.h2("Against " + params.get(vi));
            page.append("<div class=\"grid\">");
            for (int m : shown) {
                page.card(chart("p" + vi + "-m" + m, metrics.get(m), m, list, params, vi, varying));
            }
            page.append("</div>\n<p class=\"note\">Each point is the mean over the seeds of one grid point, the "
                    + "shaded band its minimum to maximum; one line per setting of the other varied fields.</p>\n");
        }
        outcomes(page, list);
        table(page, list, metrics, shown);
        page.footer();
        return page.toString();
    }

    /** The metrics the report draws, as far as the table has them. */
    private static List<Metric> metrics(Table t) {
        List<Metric> m = new ArrayList<>();
        List<Integer> ops = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            String n = t.columns().get(i).name();
            if (n.startsWith("ops_per_second.")) {
                ops.add(i);
                int col = i;
                m.add(new Metric("ops/s " + n.substring("ops_per_second.".length()), v -> num(v.get(col)), Svg::si));
            }
        }
        if (ops.size() > 1) {
            m.addFirst(new Metric("total ops/s", v -> {
                double s = 0;
                for (int i : ops) {
                    s += num(v.get(i));
                }
                return s;
            }, Svg::si));
        }
        for (String lat : List.of("fault_to_ready", "task_wait", "sync_fault")) {
            int count = t.indexOf(lat + ".count");
            for (String p : List.of("p50", "p99")) {
                int col = t.indexOf(lat + "." + p + "_ns");
                if (count >= 0 && col >= 0) {
                    m.add(new Metric(HtmlReport.latencyLabel(lat) + " " + p,
                            v -> num(v.get(count)) > 0 ? num(v.get(col)) : Double.NaN, Svg::duration));
                }
            }
        }
        List<Integer> times = new ArrayList<>();
        for (TimeCategory c : TimeCategory.values()) {
            int col = t.indexOf("vcpu_time." + c.key() + "_ns");
            if (col >= 0) {
                times.add(col);
            }
        }
        for (TimeCategory c : TimeCategory.values()) {
            int col = t.indexOf("vcpu_time." + c.key() + "_ns");
            if (col < 0) {
                continue;
            }
            m.add(new Metric("vCPU time: " + HtmlReport.timeLabel(c), v -> {
                double all = 0;
                for (int i : times) {
                    all += num(v.get(i));
                }
                double x = num(v.get(col));
                return all > 0 && x > 0 ? 100 * x / all : all > 0 ? 0 : Double.NaN;
            }, x -> Svg.num(x) + "%"));
        }
        for (String col : List.of("failure.error_cycles", "violations")) {
            int i = t.indexOf(col);
            if (i >= 0) {
                m.add(new Metric(col.replace("failure.", "futile ").replace('_', ' '), v -> num(v.get(i)), Svg::si));
            }
        }
        return m;
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** The swept fields that take more than one value. */
    private static List<Integer> varying(List<Point> points, List<String> params) {
        List<Integer> v = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            int ii = i;
            if (points.stream().map(p -> p.params.get(ii)).distinct().count() > 1) {
                v.add(i);
            }
        }
        return v;
    }

    /** One metric against field {@code vi}: x the field's values in grid order, one line per other setting. */
    private static String chart(String id, Metric metric, int m, List<Point> points, List<String> params, int vi,
                                List<Integer> varying) {
        List<String> xs = new ArrayList<>();
        Map<String, Map<Integer, Stat>> lines = new LinkedHashMap<>();
        for (Point p : points) {
            String x = p.params.get(vi);
            if (!xs.contains(x)) {
                xs.add(x);
            }
            List<String> others = new ArrayList<>();
            for (int o : varying) {
                if (o != vi) {
                    others.add(params.get(o) + "=" + p.params.get(o));
                }
            }
            String line = others.isEmpty() ? "mean over seeds" : String.join(" ", others);
            Stat s = lines.computeIfAbsent(line, k -> new LinkedHashMap<>())
                    .computeIfAbsent(xs.indexOf(x), k -> new Stat());
            s.add(p.stats[m]);
        }
        List<Svg.Series> series = new ArrayList<>();
        List<Svg.Band> shade = new ArrayList<>();
        int c = 0;
        for (Map.Entry<String, Map<Integer, Stat>> e : lines.entrySet()) {
            List<Integer> at = new ArrayList<>(e.getValue().keySet());
            at.sort(Integer::compare);
            double[] x = new double[at.size()];
            double[] y = new double[at.size()];
            double[] lo = new double[at.size()];
            double[] hi = new double[at.size()];
            for (int i = 0; i < at.size(); i++) {
                Stat s = e.getValue().get(at.get(i));
                x[i] = at.get(i);
                y[i] = s.mean();
                lo[i] = s.n == 0 ? Double.NaN : s.min;
                hi[i] = s.n == 0 ? Double.NaN : s.max;
            }
            String color = Svg.color(c++);
            series.add(new Svg.Series(e.getKey(), color, x, y));
            shade.add(new Svg.Band(e.getKey() + ": min–max over seeds", color, x, lo, hi));
        }
        Svg.Axis xAxis = new Svg.Axis(params.get(vi), Svg.Scale.CATEGORY, 0.0, xs.size() - 1.0,
                v -> {
                    int i = (int) Math.round(v);
                    return i >= 0 && i < xs.size() && Math.abs(v - i) < 1e-9 ? cut(xs.get(i)) : "";
                });
        Svg.Axis yAxis = new Svg.Axis(metric.label(), Svg.Scale.LINEAR, null, null, metric.format());
        return Svg.lineChart(id, metric.label() + " by " + params.get(vi), xAxis, yAxis, series, shade,
                HtmlReport.HALF, 320, "no values");
    }

    private static String cut(String s) {
        return s.length() <= 18 ? s : s.substring(0, 17) + "…";
    }

    private static void outcomes(HtmlReport.Page page, List<Point> points) {
        page.h2("Outcomes per grid point");
        LinkedHashSet<String> kinds = new LinkedHashSet<>();
        kinds.add("ok");
        for (Point p : points) {
            kinds.addAll(p.outcomes.keySet());
        }
        List<String> cats = new ArrayList<>(kinds);
        if (points.stream().noneMatch(p -> p.outcomes.containsKey("ok"))) {
            cats.remove("ok");
        }
        List<String> colors = new ArrayList<>();
        for (String k : cats) {
            colors.add(k.equals("ok") ? Svg.color(0) : Svg.color(3 + colors.size()));
        }
        List<String> rows = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        for (Point p : points) {
            rows.add(p.label);
            double[] v = new double[cats.size()];
            for (int i = 0; i < cats.size(); i++) {
                v[i] = p.outcomes.getOrDefault(cats.get(i), 0L);
            }
            values.add(v);
        }
        page.card(Svg.stackedBars("outcomes", "Outcome of each run, per grid point", "share of the seeds' runs", rows,
                values, cats, colors, HtmlReport.FULL, v -> String.format(Locale.ROOT, "%.0f runs", v)));
    }

    private static void table(HtmlReport.Page page, List<Point> points, List<Metric> metrics, List<Integer> shown) {
        page.h2("Grid points");
        page.append("<div style=\"overflow-x:auto\"><table><tr><th>grid point</th><th>runs</th><th>outcomes</th>"
                + "<th>violations</th>");
        for (int m : shown) {
            page.append("<th>").text(metrics.get(m).label()).append("</th>");
        }
        page.append("</tr>\n");
        for (Point p : points) {
            page.append("<tr><td>").text(p.label).append("</td><td>").text(Long.toString(p.rows)).append("</td><td>");
            for (Map.Entry<String, Long> e : p.outcomes.entrySet()) {
                page.append(HtmlReport.badge(e.getKey(), 0, false)).append(' ').text(Long.toString(e.getValue())).append(' ');
            }
            page.append("</td><td>").text(Long.toString(p.violations)).append("</td>");
            for (int m : shown) {
                Stat s = p.stats[m];
                DoubleFunction<String> f = metrics.get(m).format();
                page.append(s.n == 0 ? "<td class=\"na\">–</td>" : "<td title=\"min " + Svg.esc(f.apply(s.min))
                        + ", max " + Svg.esc(f.apply(s.max)) + "\">" + Svg.esc(f.apply(s.mean())) + "</td>");
            }
            page.append("</tr>\n");
        }
        page.append("</table></div>\n<p class=\"note\">Means over the seeds; hover a cell for its minimum and "
                + "maximum.</p>\n");
    }
}
