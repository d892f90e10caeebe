package dev.apfsim.report;

import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.sim.RunResult;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;
import java.util.function.Function;

/**
 * The run report: one self-contained HTML file (inline CSS and SVG, no script, no external resource), so it
 * opens offline and can be mailed or attached to a bug. For one run: scenario and seed, outcome and violations,
 * per-vCPU time split, fault → page-ready and task-wait latency CDFs, async PF event rates and throughput over
 * time. For several variants (compare): the same side by side and a table of differences against the first.
 */
public final class HtmlReport {
    /** One run in the report: a label (the compare variant), its result and what was gathered while it ran. */
    public record Variant(String label, RunResult result, ReportData data) {
    }

    static final int FULL = 1160;
    static final int HALF = 570;

    private static final List<String> TIME_COLORS = List.of("#0072B2", "#56B4E9", "#BBBBBB", "#E69F00", "#D55E00",
            "#CC79A7", "#009E73");

    private HtmlReport() {
    }

    /** A file written with the run (its trace, its event log), linked from the report's header. */
    public record Link(String label, Path file) {
    }

    /** Writes the report of {@code variants} (one for a plain run) to {@code path}. */
    public static void write(Path path, List<Variant> variants) throws IOException {
        write(path, variants, List.of());
    }

    /** Writes the report, linking {@code links} by their path relative to the report's directory. */
    public static void write(Path path, List<Variant> variants, List<Link> links) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        List<Link> relative = links.stream().map(l -> new Link(l.label(),
                dir == null ? l.file() : dir.relativize(l.file().toAbsolutePath()))).toList();
        String html = render(variants, relative);
        try (Writer w = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
            w.write(html);
        }
    }

    /** The whole HTML document. */
    public static String render(List<Variant> variants) {
        return render(variants, List.of());
    }

    /** The whole HTML document, with links to the files written with the run. */
    public static String render(List<Variant> variants, List<Link> links) {
        if (variants.isEmpty()) {
            throw new IllegalArgumentException("nothing to report");
        }
        Page p = new Page();
        boolean compare = variants.size() > 1;
        RunResult first = variants.getFirst().result();
        String title = (compare ? "apfsim compare: " : "apfsim run: ") + first.scenario();
        p.head(title);
        p.h1(title);
        header(p, variants);
        links(p, links);
        outcome(p, variants);
        if (compare) {
            differences(p, variants);
        } else {
            summary(p, variants.getFirst());
        }
        timeSplit(p, variants);
        latencies(p, variants);
        rates(p, variants);
        throughput(p, variants);
        eventCounts(p, variants);
        p.footer();
        return p.toString();
    }

    // ---- sections ------------------------------------------------------------------------------------------

    private static void header(Page p, List<Variant> variants) {
        RunResult r = variants.getFirst().result();
        p.append("<p class=\"meta\">scenario <b>").text(r.scenario()).append("</b> · seed <b>")
                .text(Long.toString(r.seed())).append("</b> · simulated <b>").text(Svg.duration(r.simulatedNs()))
                .append("</b>");
        if (variants.size() == 1) {
            p.append(" · async PF <b>").text(r.apf()).append("</b> · ").text(String.format(Locale.ROOT,
                    "%,d events, %,d trace events, %s wall", r.events(), r.traceEvents(), Svg.duration(r.wallNs())));
        } else {
            p.append(" · <b>").text(Integer.toString(variants.size())).append("</b> variants");
        }
        p.append("</p>\n");
        if (variants.size() > 1) {
            p.append("<table class=\"variants\"><tr><th>variant</th><th>async PF</th><th>outcome</th>"
                    + "<th>violations</th><th>total ops/s</th><th>simulated</th><th>fingerprint</th></tr>\n");
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                RunResult x = v.result();
                p.append("<tr><td><span class=\"swatch\" style=\"background:").append(Svg.color(i)).append("\"></span>")
                        .text(v.label()).append("</td><td>").text(x.apf()).append("</td><td>")
                        .append(badge(x.outcome().kind(), violationCount(v), true)).append("</td><td>")
                        .text(Long.toString(violationCount(v))).append("</td><td>")
                        .text(Svg.si(totalOpsPerSecond(x))).append("</td><td>").text(Svg.duration(x.simulatedNs()))
                        .append("</td><td><code>").text(x.fingerprint().substring(0, Math.min(12,
                                x.fingerprint().length()))).append("</code></td></tr>\n");
            }
            p.append("</table>\n");
        } else {
            p.append("<p class=\"meta\">fingerprint <code>").text(r.fingerprint()).append("</code></p>\n");
        }
    }

    private static void links(Page p, List<Link> links) {
        if (links.isEmpty()) {
            return;
        }
        p.append("<p class=\"meta\">written with this run: ");
        for (int i = 0; i < links.size(); i++) {
            Link l = links.get(i);
            String href = l.file().toString().replace(java.io.File.separatorChar, '/');
            p.append(i > 0 ? " · " : "").text(l.label()).append(" <a href=\"").text(href).append("\"><code>")
                    .text(href).append("</code></a>");
            if (l.label().startsWith("Perfetto")) {
                p.append(" (drop it on ui.perfetto.dev: the page reads it locally)");
            }
        }
        p.append("</p>\n");
    }

    private static void outcome(Page p, List<Variant> variants) {
        p.h2("Outcome and violations");
        for (Variant v : variants) {
            RunResult r = v.result();
            p.append("<div class=\"outcome\">");
            if (variants.size() > 1) {
                p.append("<b>").text(v.label()).append("</b>: ");
            }
            p.append(badge(r.outcome().kind(), violationCount(v), false)).append(' ');
            if (!"ok".equals(r.outcome().kind())) {
                p.text(r.outcome().message());
                if (r.outcome().timeNs() != null) {
                    p.text(" at " + Svg.duration(r.outcome().timeNs()));
                    if (r.outcome().vcpu() != null) {
                        p.text(" on vCPU " + r.outcome().vcpu());
                    }
                }
            } else {
                p.text("the run ended normally");
            }
            long n = violationCount(v);
            p.append(n == 0 ? " · <span class=\"good\">no invariant violated</span>"
                    : " · <span class=\"bad-text\">" + n + " violation" + (n == 1 ? "" : "s") + "</span>");
            p.append("</div>\n");
            List<String> lines = violationLines(v);
            if (!lines.isEmpty()) {
                p.append("<ul class=\"violations\">");
                int shown = 0;
                for (String l : lines) {
                    if (shown++ == 50) {
                        p.append("<li>… ").text(Integer.toString(lines.size() - 50)).append(" more</li>");
                        break;
                    }
                    p.append("<li><code>").text(l).append("</code></li>");
                }
                p.append("</ul>\n");
            }
        }
    }

    private static long violationCount(Variant v) {
        long events = v.data() == null ? 0 : v.data().violationCount();
        return Math.max(events, v.result().violations().size());
    }

    private static List<String> violationLines(Variant v) {
        List<String> out = new ArrayList<>(v.result().violations());
        if (out.isEmpty() && v.data() != null) {
            for (ReportData.ViolationEvent e : v.data().violations()) {
                out.add(Svg.duration(e.timeNs()) + (e.vcpu() >= 0 ? " vCPU " + e.vcpu() : "") + " " + e.invariant()
                        + ": " + e.detail());
            }
        }
        return out;
    }

    private static void summary(Page p, Variant v) {
        RunResult r = v.result();
        p.h2("Summary");
        p.append("<div class=\"cols\"><table><tr><th>task group</th><th>tasks</th><th>ops</th><th>ops/s</th>"
                + "<th>apf waits</th></tr>\n");
        for (String g : groups(List.of(v))) {
            long ops = 0;
            long waits = 0;
            double rate = 0;
            int n = 0;
            for (RunResult.TaskResult t : r.tasks()) {
                if (ReportData.group(t.name()).equals(g)) {
                    ops += t.ops();
                    waits += t.apfWaits();
                    rate += t.opsPerSecond();
                    n++;
                }
            }
            p.append("<tr><td>").text(g).append("</td><td>").text(Integer.toString(n)).append("</td><td>")
                    .text(String.format(Locale.ROOT, "%,d", ops)).append("</td><td>").text(Svg.si(rate))
                    .append("</td><td>").text(String.format(Locale.ROOT, "%,d", waits)).append("</td></tr>\n");
        }
        p.append("</table>\n<table><tr><th>latency</th><th>count</th><th>p50</th><th>p99</th><th>p99.9</th>"
                + "<th>max</th></tr>\n");
        for (Map.Entry<String, Map<String, Object>> e : r.latencies().entrySet()) {
            Map<String, Object> s = e.getValue();
            long count = num(s.get("count"));
            p.append("<tr><td>").text(latencyLabel(e.getKey())).append("</td><td>")
                    .text(String.format(Locale.ROOT, "%,d", count)).append("</td>");
            for (String k : List.of("p50_ns", "p99_ns", "p999_ns", "max_ns")) {
                p.append("<td>").text(count == 0 ? "–" : Svg.duration(num(s.get(k)))).append("</td>");
            }
            p.append("</tr>\n");
        }
        p.append("</table></div>\n");
    }

    /** The compare table: each metric for every variant and its change against the first. */
    private static void differences(Page p, List<Variant> variants) {
        p.h2("Differences against " + variants.getFirst().label());
        p.append("<table class=\"diff\"><tr><th>metric</th>");
        for (int i = 0; i < variants.size(); i++) {
            p.append("<th>").text(variants.get(i).label()).append("</th>");
            if (i > 0) {
                p.append("<th>Δ</th>");
            }
        }
        p.append("</tr>\n");
        for (Metric m : metrics(variants)) {
            Double base = m.value().apply(variants.getFirst());
            p.append("<tr><td>").text(m.label()).append("</td>");
            for (int i = 0; i < variants.size(); i++) {
                Double x = m.value().apply(variants.get(i));
                p.append("<td>").text(x == null ? "–" : m.format().apply(x)).append("</td>");
                if (i > 0) {
                    p.append(delta(base, x, m));
                }
            }
            p.append("</tr>\n");
        }
        p.append("</table>\n<p class=\"note\">Δ: relative change against the first variant; vCPU time shares in "
                + "percentage points (pp). Green: better, red: worse (more throughput, less latency, less time "
                + "blocked).</p>\n");
    }

    /**
     * @param higherIsBetter null when neither direction is better
     * @param points         compare as a difference in percentage points instead of a ratio
     */
    private record Metric(String label, Function<Variant, Double> value, DoubleFunction<String> format,
                          Boolean higherIsBetter, boolean points) {
    }

    private static List<Metric> metrics(List<Variant> variants) {
        List<Metric> m = new ArrayList<>();
        DoubleFunction<String> count = x -> String.format(Locale.ROOT, "%,.0f", x);
        m.add(new Metric("throughput, all tasks (ops/s)", v -> totalOpsPerSecond(v.result()), Svg::si, true, false));
        for (String g : groups(variants)) {
            m.add(new Metric("throughput " + g + " (ops/s)", v -> groupOpsPerSecond(v.result(), g), Svg::si, true,
                    false));
        }
        for (String lat : List.of("fault_to_ready", "task_wait", "sync_fault")) {
            m.add(new Metric(latencyLabel(lat) + " count", v -> latency(v.result(), lat, "count"), count, null,
                    false));
            for (String q : List.of("p50", "p99")) {
                m.add(new Metric(latencyLabel(lat) + " " + q, v -> latency(v.result(), lat, q + "_ns") == null
                        || latency(v.result(), lat, "count") == 0 ? null : latency(v.result(), lat, q + "_ns"),
                        Svg::duration, false, false));
            }
        }
        m.add(new Metric("async PFs set up (not_present)", v -> (double) v.result().counter("async_pf_started"),
                count, null, false));
        m.add(new Metric("page ready", v -> (double) v.result().counter("page_ready"), count, null, false));
        m.add(new Metric("repeated faults", v -> (double) v.result().counter("repeated_faults"), count, false,
                false));
        m.add(new Metric("sync faults", v -> (double) syncFaults(v.result()), count, false, false));
        m.add(new Metric("synthetic halts", v -> (double) v.result().counter("synthetic_halts"), count, false, false));
        m.add(new Metric("VM exits", v -> (double) v.result().counter("vm_exits"), count, false, false));
        for (TimeCategory c : TimeCategory.values()) {
            Boolean better = switch (c) {
                case GUEST_USER -> true;
                case SYNTHETIC_HALT, SYNC_BLOCKED, HOST_OVERHEAD, HOST_PREEMPTED -> false;
                default -> null;
            };
            m.add(new Metric("vCPU time " + timeLabel(c) + " (share)", v -> 100 * share(v.result(), c.key()),
                    x -> String.format(Locale.ROOT, "%.1f%%", x), better, true));
        }
        return m;
    }

    private static String delta(Double base, Double x, Metric m) {
        if (base == null || x == null) {
            return "<td class=\"na\">n/a</td>";
        }
        double d;
        String text;
        if (m.points()) {
            d = x - base;
            text = String.format(Locale.ROOT, "%+.1f pp", d);
        } else if (base == 0) {
            if (x == 0) {
                return "<td>0%</td>";
            }
            return "<td class=\"na\">new</td>";
        } else {
            d = (x - base) / Math.abs(base) * 100;
            text = String.format(Locale.ROOT, "%+.1f%%", d);
        }
        String cls = "";
        if (m.higherIsBetter() != null && Math.abs(d) >= (m.points() ? 0.5 : 1)) {
            cls = (d > 0) == m.higherIsBetter() ? " class=\"better\"" : " class=\"worse\"";
        }
        return "<td" + cls + ">" + Svg.esc(text) + "</td>";
    }

    private static void timeSplit(Page p, List<Variant> variants) {
        p.h2("Where the vCPUs spent their time");
        List<String> rows = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        TimeCategory[] cats = TimeCategory.values();
        for (Variant v : variants) {
            String prefix = variants.size() > 1 ? v.label() + " · " : "";
            List<RunResult.VcpuResult> vcpus = v.result().vcpus();
            if (vcpus.size() > 1) {
                double[] all = new double[cats.length];
                for (RunResult.VcpuResult x : vcpus) {
                    for (int c = 0; c < cats.length; c++) {
                        all[c] += x.timeNs().getOrDefault(cats[c].key(), 0L);
                    }
                }
                rows.add(prefix + "all vCPUs");
                values.add(all);
            }
            if (variants.size() == 1 || vcpus.size() <= 8) {
                for (RunResult.VcpuResult x : vcpus) {
                    double[] row = new double[cats.length];
                    for (int c = 0; c < cats.length; c++) {
                        row[c] = x.timeNs().getOrDefault(cats[c].key(), 0L);
                    }
                    rows.add(prefix + "vCPU " + x.id());
                    values.add(row);
                }
            }
        }
        List<String> names = new ArrayList<>();
        for (TimeCategory c : cats) {
            names.add(timeLabel(c));
        }
        p.card(Svg.stackedBars("time-split", "vCPU time split (share of simulated time per vCPU)",
                "share of the vCPU's time (%)", rows, values, names, TIME_COLORS, FULL, Svg::duration));
    }

    private static void latencies(Page p, List<Variant> variants) {
        p.h2("Latency distributions");
        p.append("<div class=\"grid\">");
        p.card(cdfChart("cdf-fault-to-ready", "Async PF: fault → page ready (CDF)", variants, "fault_to_ready"));
        p.card(cdfChart("cdf-task-wait", "Guest task wait on a token (CDF)", variants, "task_wait"));
        boolean sync = false;
        for (Variant v : variants) {
            sync |= latency(v.result(), "sync_fault", "count") != null && latency(v.result(), "sync_fault", "count") > 0;
        }
        if (sync) {
            p.card(cdfChart("cdf-sync-fault", "Synchronous faults: vCPU blocked in GUP (CDF)", variants,
                    "sync_fault"));
        }
        p.append("</div>\n");
    }

    private static String cdfChart(String id, String title, List<Variant> variants, String latency) {
        List<Svg.Series> series = new ArrayList<>();
        for (int i = 0; i < variants.size(); i++) {
            Variant v = variants.get(i);
            if (v.data() == null) {
                continue;
            }
            Histogram h = v.data().histogram(latency);
            double[][] c = cdf(h);
            if (c == null) {
                continue;
            }
            String name = (variants.size() > 1 ? v.label() : latencyLabel(latency)) + " (n=" + h.getTotalCount()
                    + ", p50 " + Svg.duration(h.getValueAtPercentile(50)) + ", p99 "
                    + Svg.duration(h.getValueAtPercentile(99)) + ")";
            // variants after the first get their own dash: identical CDFs (a compare that changes nothing here)
            // would otherwise hide each other
            series.add(new Svg.Series(name, Svg.color(i), c[0], c[1], true, variants.size() > 1 ? Svg.dash(i) : null));
        }
        series = Svg.noteCoinciding(series, se -> se.name().replaceFirst(" \\(n=.*$", ""));
        Svg.Axis x = new Svg.Axis("latency (log scale)", Svg.Scale.LOG, null, null, Svg::duration);
        Svg.Axis y = new Svg.Axis("fraction of samples ≤ latency (%)", Svg.Scale.LINEAR, 0.0, 100.0,
                v -> Svg.num(v) + "%");
        return Svg.lineChart(id, title, x, y, series, HALF, 340, "no samples in this run");
    }

    /** CDF points (x in ns, y in %) of a histogram, thinned to at most about 600; null when empty. */
    static double[][] cdf(Histogram h) {
        long total = h.getTotalCount();
        if (total == 0) {
            return null;
        }
        List<double[]> pts = new ArrayList<>();
        for (HistogramIterationValue v : h.recordedValues()) {
            double x = Math.max(1, h.highestEquivalentValue(v.getValueIteratedTo()));
            double y = 100.0 * v.getTotalCountToThisValue() / total;
            pts.add(new double[]{x, y});
        }
        List<double[]> kept = new ArrayList<>();
        double[] firstPt = pts.getFirst();
        kept.add(new double[]{Math.max(1, h.lowestEquivalentValue(h.getMinValue())), 0});
        double lastX = 0;
        double lastY = -1;
        for (int i = 0; i < pts.size(); i++) {
            double[] q = pts.get(i);
            boolean last = i == pts.size() - 1;
            if (last || pts.size() <= 600 || q[1] - lastY >= 0.2 || q[0] / Math.max(lastX, 1) >= 1.02) {
                kept.add(q);
                lastX = q[0];
                lastY = q[1];
            }
        }
        if (kept.size() == 2 && kept.get(0)[0] >= firstPt[0]) {
            kept.getFirst()[0] = firstPt[0] / 1.05; // one distinct value: a visible vertical step
        }
        double[] xs = new double[kept.size()];
        double[] ys = new double[kept.size()];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = kept.get(i)[0];
            ys[i] = kept.get(i)[1];
        }
        return new double[][]{xs, ys};
    }

    /**
     * Event rates over time in two panels, each with its own y scale: the common events (async PFs set up, page
     * ready) and the rare ones (repeated and synchronous faults), which a shared linear axis would flatten onto zero.
     */
    private static void rates(Page p, List<Variant> variants) {
        p.h2("Async PF events over time");
        List<String> names = List.of("not_present (async PF set up)", "page ready", "repeated fault", "sync fault");
        List<List<Svg.Series>> common = new ArrayList<>();
        List<List<Svg.Series>> rare = new ArrayList<>();
        double commonMax = 0;
        double rareMax = 0;
        for (Variant v : variants) {
            List<Svg.Series> c = new ArrayList<>();
            List<Svg.Series> r = new ArrayList<>();
            if (v.data() != null) {
                ReportData d = v.data();
                List<List<String>> keys = List.of(List.of("async_pf_started"), List.of("page_ready"),
                        List.of("repeated_faults"), d.countersStartingWith("sync_faults"));
                long events = 0;
                for (List<String> k : keys) {
                    for (String key : k) {
                        events += v.result().counter(key);
                    }
                }
                int bins = bins(events, 30, d.sampleCount());
                for (int k = 0; k < keys.size(); k++) {
                    ReportData.Intervals in = d.binned(d.rate(keys.get(k)), bins);
                    Svg.Series se = step(names.get(k), Svg.color(k), in, v, k % 2 == 1 ? Svg.dash(1) : null);
                    if (k < 2) {
                        c.add(se);
                        commonMax = Math.max(commonMax, in.max());
                    } else {
                        r.add(se);
                        rareMax = Math.max(rareMax, in.max());
                    }
                }
            }
            // not_present and page ready are usually equal: say so rather than let one line hide the other
            common.add(Svg.noteCoinciding(c, se -> se.name().replaceFirst(" \\(.*$", "")));
            rare.add(Svg.noteCoinciding(r, Svg.Series::name));
        }
        smallMultiples(p, "rates", variants, common, "events per simulated second", commonMax,
                "Async PFs set up and page ready", false);
        smallMultiples(p, "rates-rare", variants, rare, "events per simulated second", rareMax,
                "Repeated and synchronous faults (own scale)", true);
    }

    private static void throughput(Page p, List<Variant> variants) {
        p.h2("Throughput over time");
        List<String> groups = groups(variants);
        List<List<Svg.Series>> charts = new ArrayList<>();
        double ymax = 0;
        for (Variant v : variants) {
            List<Svg.Series> s = new ArrayList<>();
            if (v.data() != null) {
                ReportData d = v.data();
                for (int g = 0; g < groups.size(); g++) {
                    if (!d.groups().contains(groups.get(g))) {
                        continue;
                    }
                    int bins = bins(v.result().opsOf(groups.get(g)), 50, d.sampleCount());
                    ReportData.Intervals in = d.binned(d.throughput(groups.get(g)), bins);
                    s.add(step(groups.get(g), Svg.color(g), in, v, null));
                    ymax = Math.max(ymax, in.max());
                }
            }
            charts.add(s);
        }
        smallMultiples(p, "throughput", variants, charts, "operations per simulated second", ymax,
                "Throughput per task group", true);
    }

    /** Enough intervals for detail, few enough that each holds about {@code perBin} events (Poisson noise). */
    private static int bins(long events, int perBin, int samples) {
        return (int) Math.max(Math.min(20, samples), Math.min(samples, Math.min(200, events / perBin)));
    }

    /** Intervals as a staircase: each value held over its interval. */
    private static Svg.Series step(String name, String color, ReportData.Intervals in, Variant v, String dash) {
        int n = in.size();
        double f = 1 / timeDivisor(v) * 1e9;
        double[] x = new double[n + 1];
        double[] y = new double[n + 1];
        for (int i = 0; i < n; i++) {
            x[i] = in.startSeconds()[i] * f;
            y[i] = in.values()[i];
        }
        if (n > 0) {
            x[n] = in.endSeconds()[n - 1] * f;
            y[n] = in.values()[n - 1];
        }
        return new Svg.Series(name, color, x, y, true, dash);
    }

    /** One full-width chart for a run; for compare, one chart per variant side by side with the same y scale. */
    private static void smallMultiples(Page p, String id, List<Variant> variants, List<List<Svg.Series>> charts,
                                       String yLabel, double ymax, String title, boolean note) {
        boolean single = variants.size() == 1;
        Svg.Axis y = new Svg.Axis(yLabel, Svg.Scale.LINEAR, 0.0, ymax > 0 ? ymax : null, Svg::si);
        if (!single) {
            p.append("<div class=\"grid\">");
        }
        for (int i = 0; i < variants.size(); i++) {
            Variant v = variants.get(i);
            Svg.Axis x = Svg.Axis.linear("simulated time (" + timeUnit(v) + ")", Svg::num)
                    .bounded(0.0, v.result().simulatedNs() / timeDivisor(v));
            String t = single ? title : title + ": " + v.label();
            p.card(Svg.lineChart(id + "-" + i, t, x, y, charts.get(i), single ? FULL : HALF, single ? 340 : 320,
                    v.data() == null ? "not sampled" : "no samples"));
        }
        if (!single) {
            p.append("</div>\n");
        }
        if (!note) {
            return;
        }
        p.append("<p class=\"note\">Each step is the rate over one interval of simulated time (counter increase "
                + "divided by the interval); intervals are longer when there are few events, so the noise stays "
                + "readable.</p>\n");
    }

    private static void eventCounts(Page p, List<Variant> variants) {
        LinkedHashSet<String> keys = new LinkedHashSet<>();
        for (Variant v : variants) {
            v.result().counters().forEach((k, x) -> {
                if (x != 0) {
                    keys.add(k);
                }
            });
        }
        countTable(p, variants, "Counters (non-zero)", "counter", "value", keys,
                (v, k) -> String.format(Locale.ROOT, "%,d", v.result().counter(k)));
        if (variants.stream().allMatch(v -> v.data() == null)) {
            return;
        }
        LinkedHashSet<String> names = new LinkedHashSet<>();
        for (Variant v : variants) {
            if (v.data() != null) {
                names.addAll(v.data().eventCounts().keySet());
            }
        }
        countTable(p, variants, "Trace events by name", "event", "count", names, (v, n) -> {
            Long c = v.data() == null ? null : v.data().eventCounts().get(n);
            return c == null ? "0" : String.format(Locale.ROOT, "%,d", c);
        });
    }

    /** A collapsible table: one row per key, one column per variant. */
    private static void countTable(Page p, List<Variant> variants, String title, String keyHeader,
                                   String valueHeader, Iterable<String> keys,
                                   java.util.function.BiFunction<Variant, String, String> cell) {
        p.append("<details><summary>").text(title).append("</summary><table><tr><th>").text(keyHeader)
                .append("</th>");
        for (Variant v : variants) {
            p.append("<th>").text(variants.size() > 1 ? v.label() : valueHeader).append("</th>");
        }
        p.append("</tr>\n");
        for (String k : keys) {
            p.append("<tr><td><code>").text(k).append("</code></td>");
            for (Variant v : variants) {
                p.append("<td>").text(cell.apply(v, k)).append("</td>");
            }
            p.append("</tr>\n");
        }
        p.append("</table></details>\n");
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private static String timeUnit(Variant v) {
        return v.result().simulatedNs() < 2_000_000_000L ? "ms" : "s";
    }

    private static double timeDivisor(Variant v) {
        return v.result().simulatedNs() < 2_000_000_000L ? 1e6 : 1e9;
    }

    private static List<String> groups(List<Variant> variants) {
        LinkedHashSet<String> g = new LinkedHashSet<>();
        for (Variant v : variants) {
            for (RunResult.TaskResult t : v.result().tasks()) {
                g.add(ReportData.group(t.name()));
            }
        }
        return List.copyOf(g);
    }

    static double totalOpsPerSecond(RunResult r) {
        double s = 0;
        for (RunResult.TaskResult t : r.tasks()) {
            s += t.opsPerSecond();
        }
        return s;
    }

    private static Double groupOpsPerSecond(RunResult r, String group) {
        double s = 0;
        boolean any = false;
        for (RunResult.TaskResult t : r.tasks()) {
            if (ReportData.group(t.name()).equals(group)) {
                s += t.opsPerSecond();
                any = true;
            }
        }
        return any ? s : null;
    }

    private static Double latency(RunResult r, String name, String key) {
        Map<String, Object> s = r.latencies().get(name);
        if (s == null || !(s.get(key) instanceof Number n)) {
            return null;
        }
        return n.doubleValue();
    }

    private static long syncFaults(RunResult r) {
        long n = 0;
        for (Map.Entry<String, Long> e : r.counters().entrySet()) {
            if (e.getKey().startsWith("sync_faults")) {
                n += e.getValue();
            }
        }
        return n;
    }

    private static double share(RunResult r, String key) {
        long total = 0;
        long part = 0;
        for (RunResult.VcpuResult v : r.vcpus()) {
            for (Map.Entry<String, Long> e : v.timeNs().entrySet()) {
                total += e.getValue();
                if (e.getKey().equals(key)) {
                    part += e.getValue();
                }
            }
        }
        return total == 0 ? 0 : (double) part / total;
    }

    private static long num(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }

    static String latencyLabel(String key) {
        return switch (key) {
            case "fault_to_ready" -> "fault → page ready";
            case "task_wait" -> "task wait";
            case "sync_fault" -> "sync fault";
            default -> key.replace('_', ' ');
        };
    }

    static String timeLabel(TimeCategory c) {
        return switch (c) {
            case GUEST_USER -> "guest user";
            case GUEST_KERNEL -> "guest kernel";
            case GUEST_IDLE -> "idle (hlt)";
            case SYNTHETIC_HALT -> "synthetic halt";
            case SYNC_BLOCKED -> "sync blocked";
            case HOST_OVERHEAD -> "host";
            case HOST_PREEMPTED -> "preempted (host CPU busy)";
        };
    }

    /** Green only for a run that ended normally without breaking an invariant. */
    static String badge(String kind, long violations, boolean withCount) {
        boolean good = "ok".equals(kind) && violations == 0;
        String count = withCount && violations > 0 && "ok".equals(kind)
                ? " · " + violations + " violation" + (violations == 1 ? "" : "s") : "";
        return "<span class=\"badge " + (good ? "ok" : "bad") + "\">" + Svg.esc(kind + count) + "</span>";
    }

    /** The document being built (the sweep report builds one too). */
    static final class Page {
        private final StringBuilder sb = new StringBuilder(1 << 16);

        Page append(String html) {
            sb.append(html);
            return this;
        }

        Page append(char c) {
            sb.append(c);
            return this;
        }

        Page text(String s) {
            sb.append(Svg.esc(s));
            return this;
        }

        void head(String title) {
            sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
                    .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                    .append("<meta name=\"generator\" content=\"apfsim\">\n<title>").append(Svg.esc(title))
                    .append("</title>\n<style>\n").append(CSS).append("</style></head>\n<body><main>\n");
        }

        void h1(String s) {
            sb.append("<h1>").append(Svg.esc(s)).append("</h1>\n");
        }

        void h2(String s) {
            sb.append("<h2>").append(Svg.esc(s)).append("</h2>\n");
        }

        void card(String svg) {
            sb.append("<div class=\"card\">").append(svg).append("</div>\n");
        }

        void footer() {
            sb.append("<footer>Generated by apfsim. Self-contained: no scripts, no network. Hover a line or a bar "
                    + "for its value.</footer>\n</main></body></html>\n");
        }

        @Override
        public String toString() {
            return sb.toString();
        }
    }

    static final String CSS = """
            body{margin:0;background:#f6f6f4;color:#222;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,\
            "Helvetica Neue",Arial,sans-serif}
            main{max-width:1200px;margin:0 auto;padding:12px 20px 40px}
            h1{font-size:22px;margin:12px 0 4px}
            h2{font-size:17px;margin:26px 0 10px;padding-bottom:4px;border-bottom:1px solid #ddd}
            .meta{margin:2px 0;color:#444}
            code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
            .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:14px}
            .card{background:#fff;border:1px solid #e0e0dc;border-radius:6px;padding:8px 6px;margin-bottom:14px}
            .grid .card{margin-bottom:0}
            svg.chart{display:block;width:100%;height:auto}
            svg.chart text{font-size:12px;fill:#333}
            svg.chart .chart-title{font-size:14px;font-weight:600;fill:#111}
            svg.chart .axis-label{fill:#555}
            svg.chart .empty-note{fill:#999;font-style:italic}
            svg.chart .bar-label{font-size:11px}
            svg.chart .bar-label.on-dark{fill:#fff}
            table{border-collapse:collapse;margin:6px 0 10px;background:#fff;font-variant-numeric:tabular-nums}
            th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
            th:first-child,td:first-child{text-align:left}
            th{background:#f0f0ec;font-weight:600}
            .cols{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
            .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
            .badge.ok{background:#e3f3e6;color:#176d2c}.badge.bad{background:#fbe4e2;color:#a3160d}
            .good{color:#176d2c}.bad-text{color:#a3160d;font-weight:600}
            .better{color:#176d2c;font-weight:600}.worse{color:#a3160d;font-weight:600}.na{color:#999}
            .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
            .outcome{margin:4px 0}
            ul.violations{margin:4px 0 10px;max-height:300px;overflow:auto;background:#fff;border:1px solid #eee}
            .note{color:#666;font-size:12px;margin:2px 0 10px}
            details{margin-top:20px}summary{cursor:pointer;font-weight:600}
            footer{margin-top:30px;color:#888;font-size:12px}
            """;
}
