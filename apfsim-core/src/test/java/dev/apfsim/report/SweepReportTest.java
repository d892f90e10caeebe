package dev.apfsim.report;

import dev.apfsim.campaign.CampaignFixture;
import dev.apfsim.campaign.Row;
import dev.apfsim.campaign.SweepCampaign;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SweepReportTest {
    static SweepCampaign campaign = CampaignFixture.sweep(3);
    static List<Row> rows = CampaignFixture.rows(campaign);

    static String render() {
        return SweepReport.render("apfsim sweep: kvm-forum-2010", campaign.table(), sink -> rows.forEach(sink));
    }

    static List<String> chartIds(String html) {
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("<svg id=\"([^\"]+)\" class=\"chart\"").matcher(html);
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }

    @Test
    void plotsEachMetricAgainstEachVariedFieldWithBands() {
        String html = render();
        assertEquals(html, render(), "the same rows give the same page");
        List<String> ids = chartIds(html);
        // apf (param 0) and host.swap.latency (param 1) each get the same metrics; then the outcome bars
        List<String> apf = ids.stream().filter(i -> i.startsWith("p0-")).toList();
        List<String> swap = ids.stream().filter(i -> i.startsWith("p1-")).toList();
        assertTrue(apf.size() >= 4, ids.toString());
        assertEquals(apf.stream().map(i -> i.substring(3)).toList(), swap.stream().map(i -> i.substring(3)).toList());
        assertEquals("outcomes", ids.getLast());
        assertTrue(html.contains("total ops/s by apf") && html.contains("total ops/s by host.swap.latency"), html);
        // against apf: one line per swap device, each with its min-max band over the 3 seeds
        String chart = html.substring(html.indexOf("<svg id=\"p0-m0\""), html.indexOf("</svg>",
                html.indexOf("<svg id=\"p0-m0\"")));
        assertEquals(2, count(chart, "class=\"mark band\""), chart);
        assertTrue(chart.contains("host.swap.latency=nvme") && chart.contains("host.swap.latency=hdd"));
        assertTrue(chart.contains(">on</text>") && chart.contains(">off</text>"), "categories label the x axis");
        // a figure that is zero in every run gets no chart
        assertFalse(html.contains("vCPU time: sync blocked by"), "no sync-blocked time in this sweep");
        // the table: one row per grid point with its outcome counts
        assertEquals(1 + 4, count(html.substring(html.indexOf("Grid points")), "<tr>"));
        assertTrue(html.contains("apf=off host.swap.latency=hdd"));
        assertTrue(html.contains("<span class=\"badge ok\">ok</span> 3"), "3 ok runs per point");
    }

    @Test
    void withNothingVariedThereAreNoLinesButTheTable() {
        SweepCampaign one = new SweepCampaign("kvm-forum-2010", List.of(),
                List.of(new SweepCampaign.Point("as-is", List.of(), campaign.points().getFirst().yaml())), 2);
        List<Row> r = CampaignFixture.rows(one);
        String html = SweepReport.render("t", one.table(), sink -> r.forEach(sink));
        assertEquals(List.of("outcomes"), chartIds(html));
        assertTrue(html.contains("nothing (seeds only)"));
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
