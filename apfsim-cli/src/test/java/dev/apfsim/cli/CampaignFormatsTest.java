package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rows as Parquet (read back by DuckDB) and NDJSON, and check campaigns: sharded, merged, same answer. */
class CampaignFormatsTest {
    static final List<String> SWEEP = List.of("sweep", "kvm-forum-2010", "--apf", "on,off", "--vary",
            "host.swap.latency=nvme,hdd", "--seeds", "3");

    @TempDir
    Path dir;

    /** Every row of a DuckDB query, each value as text (NULL as null), ordered by the query. */
    static List<List<String>> query(String sql) throws Exception {
        List<List<String>> rows = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(sql)) {
            ResultSetMetaData m = r.getMetaData();
            List<String> names = new ArrayList<>();
            for (int i = 1; i <= m.getColumnCount(); i++) {
                names.add(m.getColumnName(i));
            }
            rows.add(names);
            while (r.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= m.getColumnCount(); i++) {
                    Object o = r.getObject(i);
                    row.add(o == null ? null : o instanceof Double d ? Double.toString(d) : o.toString());
                }
                rows.add(row);
            }
        }
        return rows;
    }

    @Test
    void parquetHasTheRowsOfTheCsvAsDuckDbReadsThem() throws Exception {
        Path csv = dir.resolve("rows.csv");
        Path parquet = dir.resolve("rows.parquet");
        assertEquals(0, Cli.run(CampaignTest.args(SWEEP, "-o", csv.toString())).status());
        Cli.Result r = Cli.run(CampaignTest.args(SWEEP, "-o", parquet.toString()));
        assertEquals(0, r.status(), r.err());
        assertFalse(Files.exists(dir.resolve("rows.parquet.partial.csv")), "the journal is removed when done");
        byte[] head = Files.readAllBytes(parquet);
        assertEquals("PAR1", new String(head, 0, 4), "a Parquet file");

        List<List<String>> fromCsv = query("select * from read_csv('" + csv + "', header = true) order by run");
        List<List<String>> fromParquet = query("select * from read_parquet('" + parquet + "') order by run");
        assertEquals(1 + 12, fromParquet.size(), "a header and 2 x 2 x 3 rows");
        assertEquals(fromCsv, fromParquet, "the same columns and values");
        List<List<String>> types = query("select column_name, column_type from (describe select * from read_parquet('"
                + parquet + "')) where column_name in ('run', 'label', 'ops_per_second.cpu-bound')");
        assertEquals(List.of(List.of("column_name", "column_type"), List.of("run", "BIGINT"),
                List.of("label", "VARCHAR"), List.of("ops_per_second.cpu-bound", "DOUBLE")), types);
        // the README's query, and the first of docs/campaigns.md
        List<List<String>> q = query("select apf, \"host.swap.latency\", avg(\"ops_per_second.cpu-bound\") from '"
                + parquet + "' group by all order by all");
        assertEquals(List.of("off", "hdd"), q.get(1).subList(0, 2));
        List<List<String>> docs = query("select apf, \"host.swap.latency\", count(*) as runs, "
                + "avg(\"ops_per_second.cpu-bound\") as cpu_ops_per_s, median(\"fault_to_ready.p99_ns\") / 1e6 as "
                + "fault_to_ready_p99_ms, count(*) filter (where outcome <> 'ok') as not_ok from '" + parquet
                + "' group by all order by all");
        assertEquals(List.of("off", "hdd", "3"), docs.get(1).subList(0, 3));
        assertEquals("0", docs.get(1).get(5));

        // a finished Parquet sweep resumes from the file itself; the same command changes nothing
        byte[] before = Files.readAllBytes(parquet);
        Cli.Result again = Cli.run(CampaignTest.args(SWEEP, "-o", parquet.toString()));
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("0 run now and 12 kept"), again.out());
        assertEquals(List.of(before.length), List.of(Files.readAllBytes(parquet).length));

        // a killed Parquet sweep leaves its journal: half the rows and a torn one; the same command finishes it
        Path killed = dir.resolve("killed.parquet");
        String text = Files.readString(csv);
        int cut = text.indexOf('\n', text.length() / 2) + 25;
        Files.writeString(dir.resolve("killed.parquet.partial.csv"), text.substring(0, cut));
        Cli.Result resumed = Cli.run(CampaignTest.args(SWEEP, "-o", killed.toString()));
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.err().contains("dropped an unfinished last row"), resumed.err());
        assertEquals(fromCsv, query("select * from read_parquet('" + killed + "') order by run"));

        // merge Parquet and CSV shards into Parquet and CSV
        Path s0 = dir.resolve("s0.parquet");
        Path s1 = dir.resolve("s1.csv");
        assertEquals(0, Cli.run(CampaignTest.args(SWEEP, "--shard", "0/2", "-o", s0.toString())).status());
        assertEquals(0, Cli.run(CampaignTest.args(SWEEP, "--shard", "1/2", "-o", s1.toString())).status());
        Path merged = dir.resolve("merged.csv");
        assertEquals(0, Cli.run("merge", "-o", merged.toString(), s0.toString(), s1.toString()).status());
        assertEquals(text, Files.readString(merged), "Parquet and CSV shards merge to the one-machine CSV");
    }

    @Test
    void ndjsonRowsCarryTheColumnsAndTheWholeResult() throws Exception {
        Path nd = dir.resolve("rows.ndjson");
        assertEquals(0, Cli.run(CampaignTest.args(SWEEP, "-o", nd.toString())).status());
        List<String> lines = Files.readAllLines(nd);
        assertEquals(12, lines.size());
        JsonNode first = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.getFirst());
        assertEquals(0, first.get("run").asInt());
        assertEquals("nvme", first.get("host.swap.latency").asText());
        assertEquals(first.get("fingerprint").asText(), first.get("result").get("fingerprint").asText());
        assertFalse(first.get("result").has("wall_ns"), "no wall-clock figure: rows are the same on any machine");
        // resumable like CSV: cut it, run again, the same file
        String text = Files.readString(nd);
        Files.writeString(nd, text.substring(0, text.indexOf('\n', text.length() / 3) + 30));
        assertEquals(0, Cli.run(CampaignTest.args(SWEEP, "-o", nd.toString())).status());
        assertEquals(text, Files.readString(nd));
    }

    @Test
    void checkCampaignShardsFindTheViolationExploreFinds() throws Exception {
        List<String> check = List.of("check", "seed-001-page-ready", "--variant", "old", "--runs", "120", "--json");
        Cli.Result explore = Cli.run(CampaignTest.args(check, "--out", dir.resolve("m0.yaml").toString()));
        assertEquals(1, explore.status(), explore.err());
        long index = explore.json().get("run_index").asLong();

        Path all = dir.resolve("all.csv");
        Cli.Result one = Cli.run(CampaignTest.args(check, "--rows", all.toString(), "--out",
                dir.resolve("m1.yaml").toString()));
        assertEquals(1, one.status(), one.err());
        JsonNode j = one.json();
        assertEquals(index, j.get("run_index").asLong(), "the lowest violating index, as explore finds it");
        assertEquals(explore.json().get("invariant"), j.get("invariant"));
        assertEquals(120, j.get("runs").asInt());
        assertEquals(121, Files.readAllLines(all).size(), "one row per run index");

        List<String> shards = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            Path f = dir.resolve("c" + k + ".csv");
            Cli.Result r = Cli.run(CampaignTest.args(check, "--rows", f.toString(), "--shard", k + "/4", "--out",
                    dir.resolve("m" + k + "s.yaml").toString()));
            assertTrue(r.status() == 0 || r.status() == 1, r.err());
            if (k == index % 4) {
                assertEquals(index, r.json().get("run_index").asLong(), "the shard holding it finds it");
            }
            shards.add(f.toString());
        }
        Path merged = dir.resolve("merged.csv");
        List<String> merge = new ArrayList<>(List.of("merge", "-o", merged.toString()));
        merge.addAll(shards);
        assertEquals(0, Cli.run(merge.toArray(String[]::new)).status());
        assertEquals(Files.readString(all), Files.readString(merged));
        // resuming the merged file finds the same answer without running anything
        Cli.Result resumed = Cli.run(CampaignTest.args(check, "--rows", merged.toString(), "--out",
                dir.resolve("m9.yaml").toString()));
        assertEquals(1, resumed.status());
        assertEquals(index, resumed.json().get("run_index").asLong());
        assertTrue(resumed.err().contains("kept 120 of 120 rows"), resumed.err());

        Cli.Result bad = Cli.run("check", "seed-001-page-ready", "--shard", "0/2");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--shard needs --rows"), bad.err());
        Cli.Result badShard = Cli.run(CampaignTest.args(check, "--rows", all.toString(), "--shard", "3/3"));
        assertEquals(2, badShard.status());
        assertTrue(badShard.err().contains("0 <= K < N"), badShard.err());
    }
}
