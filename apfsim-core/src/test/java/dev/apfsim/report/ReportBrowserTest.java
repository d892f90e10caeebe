package dev.apfsim.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Renders the report in headless Chromium (Debian's {@code chromium}; .ci/run installs it when it can) and checks
 * what a reader would see: every chart laid out with a real size, its lines and bars drawn with a non-zero
 * extent, nothing wider than the window; screenshots go to {@code target/}. Skipped where there is no Chromium.
 * The sweep report's browser test ({@link SweepReportBrowserTest}) runs the same checks.
 */
class ReportBrowserTest {
    static final Path TARGET = Path.of(System.getProperty("basedir", "."), "target");

    /** Appended to a copy of the report (the report itself has no script): measures every chart once laid out. */
    static final String PROBE = """
            <script>
            (function () {
              var charts = [];
              document.querySelectorAll('svg.chart').forEach(function (svg) {
                var r = svg.getBoundingClientRect();
                var marks = svg.querySelectorAll('.mark');
                var visible = 0;
                marks.forEach(function (m) {
                  var b = m.getBBox(), c = m.getBoundingClientRect();
                  if ((b.width > 0 || b.height > 0) && (c.width > 0 || c.height > 0)) visible++;
                });
                var title = svg.querySelector('.chart-title');
                charts.push({id: svg.id, width: r.width, height: r.height, marks: marks.length, visible: visible,
                  legend: svg.querySelectorAll('.legend rect, .legend line').length, axisLabels: svg.querySelectorAll('.axis-label').length,
                  title: title ? title.textContent : ''});
              });
              var pre = document.createElement('pre');
              pre.id = 'apfsim-probe';
              pre.textContent = JSON.stringify({scrollWidth: document.documentElement.scrollWidth, charts: charts});
              document.body.appendChild(pre);
            })();
            </script>
            """;

    static String chromium;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findChromium() {
        chromium = null;
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    chromium = p.toString();
                    return;
                }
            }
        }
    }

    @Test
    void singleRunReportRendersEveryChart() throws Exception {
        assumeTrue(chromium != null, "no chromium on PATH: browser test skipped (.ci/run installs Debian's chromium)");
        Fixture.Run run = Fixture.run(Fixture.scenario(), null, null);
        String html = HtmlReport.render(List.of(new HtmlReport.Variant("run", run.result(), run.data())));
        check(html, "report-screenshot.png", List.of("time-split", "cdf-fault-to-ready", "cdf-task-wait",
                "cdf-sync-fault", "rates-0", "rates-rare-0", "throughput-0"));
    }

    @Test
    void compareReportRendersEveryChart() throws Exception {
        assumeTrue(chromium != null, "no chromium on PATH: browser test skipped (.ci/run installs Debian's chromium)");
        Fixture.Run a = Fixture.run(Fixture.scenario(), null, null);
        Fixture.Run b = Fixture.run(Fixture.scenario("host.remote.latency=200us"), null, null);
        String html = HtmlReport.render(List.of(new HtmlReport.Variant("10gbe", a.result(), a.data()),
                new HtmlReport.Variant("fast link", b.result(), b.data())));
        check(html, "report-compare-screenshot.png", List.of("time-split", "cdf-fault-to-ready", "cdf-task-wait",
                "cdf-sync-fault", "rates-0", "rates-1", "rates-rare-0", "rates-rare-1", "throughput-0",
                "throughput-1"));
    }

    void check(String html, String screenshot, List<String> expected) throws Exception {
        Path report = tmp.resolve("report.html");
        Files.writeString(report, html);
        Path probe = tmp.resolve("probe.html");
        Files.writeString(probe, html.replace("</body>", PROBE + "</body>"));

        String dom = chromium(tmp.resolve("profile-dom"), "--dump-dom", probe.toUri().toString());
        Matcher m = Pattern.compile("<pre id=\"apfsim-probe\">(.*?)</pre>", Pattern.DOTALL).matcher(dom);
        assertTrue(m.find(), "the probe ran: " + dom.substring(0, Math.min(500, dom.length())));
        JsonNode result = new ObjectMapper().readTree(m.group(1).replace("&lt;", "<").replace("&gt;", ">")
                .replace("&quot;", "\"").replace("&amp;", "&"));
        assertTrue(result.get("scrollWidth").asInt() <= 1280, "fits a 1280 px window: " + result);
        List<String> ids = new ArrayList<>();
        for (JsonNode c : result.get("charts")) {
            String id = c.get("id").asText();
            ids.add(id);
            assertTrue(c.get("width").asDouble() >= 400 && c.get("width").asDouble() <= 1200, id + " width: " + c);
            assertTrue(c.get("height").asDouble() >= 120, id + " height: " + c);
            assertTrue(c.get("marks").asInt() > 0, id + " draws data: " + c);
            assertEquals(c.get("marks").asInt(), c.get("visible").asInt(), id + " every mark has a size: " + c);
            assertTrue(c.get("legend").asInt() > 0, id + " legend: " + c);
            assertTrue(c.get("axisLabels").asInt() >= 1, id + " axis labels: " + c);
            assertTrue(!c.get("title").asText().isBlank(), id + " title: " + c);
        }
        assertEquals(expected, ids);

        Path png = TARGET.resolve(screenshot);
        Files.createDirectories(TARGET);
        Files.deleteIfExists(png);
        chromium(tmp.resolve("profile-shot"), "--screenshot=" + png.toAbsolutePath(), "--window-size=1280,2000",
                "--hide-scrollbars", report.toUri().toString());
        assertTrue(Files.size(png) > 20_000, "screenshot " + png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(1280, img.getWidth());
        assertEquals(2000, img.getHeight());
        Set<Integer> colours = new HashSet<>();
        int chartBlue = 0;
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb == 0x0072B2) {
                    chartBlue++;
                }
            }
        }
        assertTrue(colours.size() > 50, "not a blank page: " + colours.size() + " colours");
        assertTrue(chartBlue > 500, "chart colour drawn: " + chartBlue + " px");
    }

    static String chromium(Path profile, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(profile.getParent(), "chromium", ".out");
        Path err = Files.createTempFile(profile.getParent(), "chromium", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium timed out: " + cmd);
        }
        assertEquals(0, p.exitValue(), "chromium failed: " + cmd + "\n" + Files.readString(err));
        return Files.readString(out);
    }
}
