package dev.apfsim.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CampaignProgressTest {
    @Test
    void theLineSaysRowsRateTimeLeftAndViolations() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        CampaignProgress p = CampaignProgress.to("sweep kvm-forum-2010 [0/3]", false,
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        p.progress(40, 4000, 0); // 40 rows kept from an earlier run: not counted in the rate
        assertEquals("sweep kvm-forum-2010 [0/3]: 1,240/4,000 rows (31%), 40.0 rows/s, ETA 1m09s, 1 violation",
                p.line(1240, 4000, 1, 30));
        assertEquals("sweep kvm-forum-2010 [0/3]: 4,000/4,000 rows (100%), 132.0 rows/s, ETA 0s, 2 violations",
                p.line(4000, 4000, 2, 30));
        assertEquals("", buf.toString(StandardCharsets.UTF_8), "nothing in the first second, nor at the end");
        assertEquals("2h03m", CampaignProgress.duration(7380));
        assertEquals("59s", CampaignProgress.duration(59.4));
    }
}
