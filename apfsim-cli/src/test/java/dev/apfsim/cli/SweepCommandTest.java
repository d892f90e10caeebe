package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SweepCommandTest {
    @TempDir
    Path dir;

    @Test
    void csvHasOneRowPerGridPointAndSeedInGridOrder() throws IOException {
        Path yaml = Cli.write(dir, "busy.yaml", Cli.BUSY);
        Path csv = dir.resolve("out.csv");
        Cli.Result r = Cli.run("sweep", yaml.toString(), "--apf", "on,off", "--vary",
                "host.swap.latency.mean=100us,1ms", "--seeds", "2", "-o", csv.toString());
        assertEquals(0, r.status(), r.err());
        List<CSVRecord> rows;
        try (Reader in = Files.newBufferedReader(csv);
             CSVParser p = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(in)) {
            rows = p.getRecords();
        }
        assertEquals(8, rows.size(), "2 modes x 2 latencies x 2 seeds");
        assertEquals("on", rows.get(0).get("apf"));
        assertEquals("100us", rows.get(0).get("host.swap.latency.mean"));
        assertEquals("1", rows.get(0).get("seed"));
        assertEquals("2", rows.get(1).get("seed"));
        assertEquals("off", rows.get(7).get("apf"));
        assertEquals("1ms", rows.get(7).get("host.swap.latency.mean"));
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(String.valueOf(i), rows.get(i).get("run"));
            assertEquals("ok", rows.get(i).get("outcome"));
        }
        // the seed matters, and async PF on takes not-present injections while off takes none
        assertNotEquals(rows.get(0).get("fingerprint"), rows.get(1).get("fingerprint"));
        assertTrue(Long.parseLong(rows.get(0).get("counters.not_present_injected")) > 0);
        assertEquals("0", rows.get(4).get("counters.not_present_injected"));
        // the same run in a second sweep gives the same fingerprint (determinism across parallel runs)
        Path again = dir.resolve("again.csv");
        assertEquals(0, Cli.run("sweep", yaml.toString(), "--apf", "on", "--vary", "host.swap.latency.mean=100us",
                "-o", again.toString(), "-j", "1").status());
        try (Reader in = Files.newBufferedReader(again);
             CSVParser p = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(in)) {
            assertEquals(rows.get(0).get("fingerprint"), p.getRecords().getFirst().get("fingerprint"));
        }
    }

    @Test
    void ndjsonHasAResultPerLine() throws IOException {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path nd = dir.resolve("out.ndjson");
        assertEquals(0, Cli.run("sweep", yaml.toString(), "--seeds", "3", "-o", nd.toString()).status());
        List<String> lines = Files.readAllLines(nd);
        assertEquals(3, lines.size());
        JsonNode first = new ObjectMapper().readTree(lines.getFirst());
        assertEquals(0, first.get("run").asInt());
        assertEquals("tiny", first.get("result").get("scenario").asText());
    }

    @Test
    void badSeedCountIsBadInput() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("sweep", yaml.toString(), "--seeds", "0", "-o", dir.resolve("x.csv").toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--seeds"), r.err());
    }
}
