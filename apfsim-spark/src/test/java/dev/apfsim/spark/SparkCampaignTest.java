package dev.apfsim.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apfsim.cli.CampaignCli;
import dev.apfsim.cli.Main;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * apfsim-spark in an embedded {@code local[2]} Spark bound to 127.0.0.1: the issue's sweep gives the same rows as the
 * CLI's CSV (both read by DuckDB), resumes without recomputing, and a check campaign finds the violation the local
 * explorer finds.
 */
class SparkCampaignTest {
    static final List<String> SWEEP = List.of("sweep", "kvm-forum-2010", "--apf", "on,off", "--vary",
            "host.swap.latency=nvme,ssd,hdd", "--seeds", "20");

    static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().appName("apfsim-test").master("local[2]")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    record Result(int status, String out, String err) {
        JsonNode json() throws Exception {
            return new ObjectMapper().readTree(out);
        }
    }

    static Result run(CommandLine cmd, List<String> base, String... more) {
        List<String> args = new ArrayList<>(base);
        args.addAll(List.of(more));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int status = cmd.execute(args.toArray(String[]::new));
        return new Result(status, out.toString(), err.toString());
    }

    static Result onSpark(List<String> base, String... more) {
        return run(CampaignCli.commandLine("apfsim-spark", new SparkEngine(spark)), base, more);
    }

    static Result local(List<String> base, String... more) {
        return run(Main.commandLine(), base, more);
    }

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
                    row.add(o == null ? null : o.toString());
                }
                rows.add(row);
            }
        }
        return rows;
    }

    static long partFiles(Path p) throws Exception {
        try (Stream<Path> s = Files.list(p)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".parquet")).count();
        }
    }

    @Test
    void theIssuesSweepOnSparkHasTheRowsOfTheCsvRun() throws Exception {
        Path csv = dir.resolve("local.csv");
        Result l = local(SWEEP, "-o", csv.toString());
        assertEquals(0, l.status(), l.err());
        Path parquet = dir.resolve("spark.parquet");
        Path report = dir.resolve("sweep.html");
        Result s = onSpark(SWEEP, "-o", parquet.toString(), "--report", report.toString());
        assertEquals(0, s.status(), s.err());
        assertTrue(s.out().contains("120 runs (6 grid points x 20 seeds)"), s.out());

        List<List<String>> fromCsv = query("select * from read_csv('" + csv + "', header = true) order by run");
        List<List<String>> fromSpark = query("select * from read_parquet('" + parquet + "/*.parquet') order by run");
        assertEquals(121, fromSpark.size(), "a header and 120 rows");
        assertEquals(fromCsv, fromSpark, "the same columns and the same values, row by row");
        assertTrue(Files.readString(report).contains("total ops/s by host.swap.latency"));

        // the same command again: every row is there already, nothing runs, no part file is added
        long parts = partFiles(parquet);
        Result again = onSpark(SWEEP, "-o", parquet.toString());
        assertEquals(0, again.status(), again.err());
        assertTrue(again.err().contains("kept 120 of 120 rows"), again.err());
        assertEquals(parts, partFiles(parquet));

        // another grid into the same target is refused
        Result other = onSpark(List.of("sweep", "kvm-forum-2010", "--apf", "on,off", "--vary",
                "host.swap.latency=hdd,ssd,nvme", "--seeds", "20"), "-o", parquet.toString());
        assertEquals(2, other.status(), other.err());
        assertTrue(other.err().contains("other settings") && other.err().contains("--force"), other.err());
        assertEquals(parts, partFiles(parquet), "the refused target is untouched");
        Result csvTarget = onSpark(SWEEP, "-o", dir.resolve("x.csv").toString());
        assertEquals(2, csvTarget.status());
        assertTrue(csvTarget.err().contains("writes Parquet"), csvTarget.err());
    }

    @Test
    void aCheckCampaignOnSparkFindsTheViolationTheExplorerFinds() throws Exception {
        List<String> check = List.of("check", "seed-001-page-ready", "--variant", "old", "--runs", "96", "--json");
        Result explore = local(check, "--out", dir.resolve("m0.yaml").toString());
        assertEquals(1, explore.status(), explore.err());
        Path rows = dir.resolve("check.parquet");
        Result s = onSpark(check, "--rows", rows.toString(), "--out", dir.resolve("m1.yaml").toString());
        assertEquals(1, s.status(), s.err());
        assertEquals(explore.json().get("run_index"), s.json().get("run_index"), "lowest violating index");
        assertEquals(explore.json().get("invariant"), s.json().get("invariant"));
        assertEquals(List.of(List.of("n"), List.of("96")),
                query("select count(*) as n from read_parquet('" + rows + "/*.parquet')"));
        assertTrue(Files.readString(dir.resolve("m1.yaml")).contains("invariant: liveness"));
    }
}
