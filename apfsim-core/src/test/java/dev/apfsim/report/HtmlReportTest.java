package dev.apfsim.report;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.ApfSwitch;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HtmlReportTest {
    static Fixture.Run on;
    static Fixture.Run sync;

    @BeforeAll
    static void runs() {
        on = Fixture.run(Fixture.scenario(), null, null);
        sync = Fixture.run(ApfSwitch.parse("sync").apply(Fixture.scenario()), null, null);
    }

    static List<HtmlReport.Variant> single() {
        return List.of(new HtmlReport.Variant("run", on.result(), on.data()));
    }

    static List<HtmlReport.Variant> compare() {
        return List.of(new HtmlReport.Variant("apf=on", on.result(), on.data()),
                new HtmlReport.Variant("apf=sync", sync.result(), sync.data()));
    }

    @Test
    void sampledSlicesAddUpToTheRunTotals() {
        ReportData d = on.data();
        RunResult r = on.result();
        assertEquals(ReportData.SLICES, d.sampleCount());
        double[] t = d.timesSeconds();
        for (int i = 1; i < t.length; i++) {
            assertTrue(t[i] > t[i - 1]);
        }
        assertEquals(r.simulatedNs() / 1e9, t[t.length - 1], 1e-9);
        // integrating the rates over the slices gives back the counters and the ops
        assertEquals(r.counter("async_pf_started"), integrate(t, d.rate(List.of("async_pf_started"))), 1e-6);
        assertEquals(r.counter("sync_faults_irqs_off"), integrate(t, d.rate(d.countersStartingWith("sync_faults"))),
                1e-6);
        assertEquals(r.opsOf("app"), integrate(t, d.throughput("app")), 1e-6);
        assertEquals(List.of("app", "cpu"), d.groups());
        // merged into fewer intervals, the rates still add up, and the intervals tile the run
        ReportData.Intervals in = d.binned(d.throughput("app"), 17);
        assertEquals(17, in.size());
        double ops = 0;
        for (int i = 0; i < in.size(); i++) {
            ops += in.values()[i] * (in.endSeconds()[i] - in.startSeconds()[i]);
            assertEquals(i == 0 ? 0 : in.endSeconds()[i - 1], in.startSeconds()[i], 1e-12);
        }
        assertEquals(r.opsOf("app"), ops, 1e-6);
        assertEquals(r.simulatedNs() / 1e9, in.endSeconds()[in.size() - 1], 1e-9);
        assertEquals(r.traceEvents(), d.eventCounts().entrySet().stream()
                .filter(e -> !e.getKey().equals("apfsim_vcpu_state") && !e.getKey().equals("apfsim_page_io"))
                .mapToLong(Map.Entry::getValue).sum(), "every canonical event counted once");
        assertEquals(r.latencies().get("fault_to_ready").get("count"), d.histogram("fault_to_ready").getTotalCount());
    }

    /** Sampling happens between events and sinks only read: the run is the same with or without the report. */
    @Test
    void gatheringReportDataDoesNotChangeTheRun() {
        RunResult plain = new Machine(Fixture.scenario()).run();
        assertEquals(plain.fingerprint(), on.result().fingerprint());
        assertEquals(plain.counters(), on.result().counters());
    }

    /** The machine recognises a livelock between slices: sampling keeps its slicing, so the run ends alike. */
    @Test
    void livelockedRunEndsAtTheSameTimeWithTheReport() {
        assumeTrue(BuiltinScenarios.exists("appc-sigbus-irq-on"), "built-in livelock scenario renamed");
        Scenario s = BuiltinScenarios.load("appc-sigbus-irq-on");
        RunResult plain = new Machine(s).run();
        Machine m = new Machine(s);
        ReportData.attachTo(m);
        RunResult sampled = m.run();
        assertEquals("livelock_suspected", plain.outcome().kind());
        assertEquals(plain.simulatedNs(), sampled.simulatedNs());
        assertEquals(plain.fingerprint(), sampled.fingerprint());
    }

    @Test
    void groupsTasksMadeByOneSpec() {
        assertEquals("oltp", ReportData.group("oltp-12"));
        assertEquals("reader", ReportData.group("reader"));
        assertEquals("a-b", ReportData.group("a-b"));
        assertEquals("x-", ReportData.group("x-"));
    }

    @Test
    void cdfRisesFromZeroToHundredPercent() {
        Histogram h = new Histogram(3_600_000_000_000L, 3);
        for (int i = 1; i <= 1000; i++) {
            h.recordValue(i * 1000L);
        }
        double[][] c = HtmlReport.cdf(h);
        assertEquals(0, c[1][0]);
        assertEquals(100, c[1][c[1].length - 1], 1e-9);
        for (int i = 1; i < c[0].length; i++) {
            assertTrue(c[0][i] >= c[0][i - 1] && c[1][i] >= c[1][i - 1], "monotone");
        }
        assertEquals(1e6, c[0][c[0].length - 1], 1e6 * 0.002, "ends at the maximum");
        Histogram one = new Histogram(3);
        one.recordValue(50_000_000);
        double[][] step = HtmlReport.cdf(one);
        assertTrue(step[0][0] < step[0][1], "a single value still draws a step");
    }

    @Test
    void singleRunReportHasEveryChartWithTitleAxesAndLegend() throws Exception {
        String html = HtmlReport.render(single());
        assertSelfContained(html);
        Map<String, Element> charts = charts(html);
        assertEquals(List.of("time-split", "cdf-fault-to-ready", "cdf-task-wait", "cdf-sync-fault", "rates-0",
                "rates-rare-0", "throughput-0"), List.copyOf(charts.keySet()));
        for (Map.Entry<String, Element> e : charts.entrySet()) {
            Element svg = e.getValue();
            assertFalse(text(svg, "chart-title").isBlank(), e.getKey() + " title");
            assertTrue(count(svg, "mark") > 0, e.getKey() + " has marks");
            assertTrue(count(svg, "legend") == 1, e.getKey() + " has a legend");
            assertFalse(text(svg, "axis-label").isBlank(), e.getKey() + " axis labels");
        }
        assertTrue(text(charts.get("cdf-fault-to-ready"), "axis-label").contains("latency"));
        assertTrue(text(charts.get("rates-0"), "axis-label").contains("events per simulated second"));
        assertTrue(text(charts.get("throughput-0"), "axis-label").contains("operations per simulated second"));
        // one bar row per vCPU plus the total, one rect per category with time
        assertTrue(html.contains(">vCPU 0<") && html.contains(">vCPU 1<") && html.contains(">all vCPUs<"));
        assertTrue(html.contains("report-fixture") && html.contains("seed <b>" + on.result().seed() + "</b>"));
        assertTrue(html.contains("no invariant violated"));
        assertTrue(html.contains("kvm_async_pf_not_present"), "event counts");
    }

    @Test
    void compareReportShowsVariantsSideBySideWithDifferences() throws Exception {
        String html = HtmlReport.render(compare());
        assertSelfContained(html);
        Map<String, Element> charts = charts(html);
        assertTrue(charts.keySet().containsAll(List.of("time-split", "cdf-fault-to-ready", "cdf-task-wait",
                "rates-0", "rates-1", "rates-rare-0", "rates-rare-1", "throughput-0", "throughput-1")),
                charts.keySet().toString());
        assertTrue(html.contains("Differences against apf=on"));
        // the sync variant has no async PF, so its throughput differs and fault → ready has no samples
        Matcher m = Pattern.compile("<tr><td>throughput, all tasks \\(ops/s\\)</td><td>[^<]+</td><td>[^<]+</td>"
                + "<td( class=\"(better|worse)\")?>([+-][0-9.]+%)</td>").matcher(html);
        assertTrue(m.find(), "throughput row with a change");
        assertTrue(html.contains(">apf=on · vCPU 0<") && html.contains(">apf=sync · all vCPUs<"));
        assertEquals(2, count(charts.get("cdf-sync-fault"), "mark"), "sync faults of both variants, overlaid");
        assertEquals(1, count(charts.get("cdf-fault-to-ready"), "mark"), "only apf=on has async PFs");
    }

    /** Shared with the browser test: a report and what each chart must show. */
    static void assertSelfContained(String html) {
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertFalse(html.contains("<script"), "no script");
        assertFalse(html.contains("<link"), "no external stylesheet");
        assertFalse(html.contains("src="), "no external resource");
        String noXmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assertFalse(noXmlns.contains("http://") || noXmlns.contains("https://") || noXmlns.contains("url(http"),
                "no network reference");
    }

    /** Each chart's SVG, parsed as XML (so it is well-formed), by id in page order. */
    static Map<String, Element> charts(String html) throws Exception {
        Map<String, Element> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("<svg id=\"([^\"]+)\" class=\"chart\".*?</svg>", Pattern.DOTALL).matcher(html);
        var f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        while (m.find()) {
            Document d = f.newDocumentBuilder().parse(new ByteArrayInputStream(m.group().getBytes(
                    StandardCharsets.UTF_8)));
            out.put(m.group(1), d.getDocumentElement());
        }
        return out;
    }

    static int count(Element svg, String cls) {
        return byClass(svg, cls).size();
    }

    static String text(Element svg, String cls) {
        StringBuilder sb = new StringBuilder();
        for (Element e : byClass(svg, cls)) {
            sb.append(e.getTextContent()).append(' ');
        }
        return sb.toString();
    }

    private static List<Element> byClass(Element root, String cls) {
        List<Element> out = new ArrayList<>();
        NodeList all = root.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            for (String c : e.getAttribute("class").split(" ")) {
                if (c.equals(cls)) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    private static double integrate(double[] t, double[] rate) {
        double sum = 0;
        double prev = 0;
        for (int i = 0; i < t.length; i++) {
            sum += rate[i] * (t[i] - prev);
            prev = t[i];
        }
        return sum;
    }
}
