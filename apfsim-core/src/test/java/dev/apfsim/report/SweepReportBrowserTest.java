package dev.apfsim.report;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sweep report in headless Chromium, with the run report's checks ({@link ReportBrowserTest}): every chart laid
 * out with a real size and non-empty marks, nothing wider than the window; the screenshot stays in
 * {@code target/sweep-report-screenshot.png}.
 */
class SweepReportBrowserTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void findChromium() {
        ReportBrowserTest.findChromium();
    }

    @Test
    void sweepReportRendersEveryChart() throws Exception {
        assumeTrue(ReportBrowserTest.chromium != null,
                "no chromium on PATH: browser test skipped (.ci/run installs Debian's chromium)");
        String html = SweepReportTest.render();
        List<String> ids = SweepReportTest.chartIds(html);
        assertTrue(ids.size() >= 9, ids.toString());
        ReportBrowserTest browser = new ReportBrowserTest();
        browser.tmp = tmp;
        browser.check(html, "sweep-report-screenshot.png", ids);
    }
}
