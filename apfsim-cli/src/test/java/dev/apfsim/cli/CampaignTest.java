package dev.apfsim.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Sweeps as campaigns: shards that concatenate into the one-machine table, a sweep killed with SIGKILL and resumed,
 * a torn last row, a changed grid refused, merge, and a full disk.
 */
class CampaignTest {
    /** The sweep of the issue: 2 modes x 3 swap devices x 20 seeds = 120 rows. */
    static final List<String> SWEEP = List.of("sweep", "kvm-forum-2010", "--apf", "on,off", "--vary",
            "host.swap.latency=nvme,ssd,hdd", "--seeds", "20");

    @TempDir
    static Path shared;

    /** The unsharded, uninterrupted table every other run is compared with. */
    static String full;

    @TempDir
    Path dir;

    @BeforeAll
    static void oneMachineTable() throws IOException {
        Path all = shared.resolve("all.csv");
        Cli.Result r = Cli.run(args(SWEEP, "-o", all.toString()));
        assertEquals(0, r.status(), r.err());
        full = Files.readString(all);
        assertEquals(121, full.lines().count(), "a header and 120 rows");
    }

    static String[] args(List<String> base, String... more) {
        List<String> a = new ArrayList<>(base);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void shardsConcatenateIntoTheOneMachineTable() throws IOException {
        List<String> rows = new ArrayList<>();
        List<String> files = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            Path f = dir.resolve("s" + k + ".csv");
            Cli.Result r = Cli.run(args(SWEEP, "--shard", k + "/3", "-o", f.toString()));
            assertEquals(0, r.status(), r.err());
            assertTrue(r.out().contains("shard " + k + "/3: 40 of 120 rows"), r.out());
            String text = Files.readString(f);
            assertEquals(full.lines().findFirst(), text.lines().findFirst(), "same header");
            for (String row : text.lines().skip(1).toList()) {
                assertEquals(k, Long.parseLong(row.substring(0, row.indexOf(','))) % 3, "row of shard " + k);
            }
            rows.addAll(text.lines().skip(1).toList());
            files.add(f.toString());
        }
        rows.sort(Comparator.comparingLong(l -> Long.parseLong(l.substring(0, l.indexOf(',')))));
        String sorted = full.lines().findFirst().orElseThrow() + "\n" + String.join("\n", rows) + "\n";
        assertEquals(full, sorted, "the shards' rows, sorted by index, are the one-machine table byte for byte");

        Path merged = dir.resolve("merged.csv");
        List<String> merge = new ArrayList<>(List.of("merge", "-o", merged.toString()));
        merge.addAll(files.reversed());
        Cli.Result m = Cli.run(merge.toArray(String[]::new));
        assertEquals(0, m.status(), m.err());
        assertTrue(m.out().contains("120 rows (runs 0 to 119, none missing)"), m.out());
        assertEquals(full, Files.readString(merged), "apfsim merge writes the one-machine table");
    }

    @Test
    void sigkillMidSweepThenTheSameCommandFinishesIt() throws Exception {
        Path out = dir.resolve("killed.csv");
        String[] cmd = args(SWEEP, "-o", out.toString(), "-j", "2");
        Process p = subprocess(cmd);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (p.isAlive() && System.nanoTime() < deadline && lines(out) < 30) {
                Thread.sleep(5);
            }
            assertTrue(p.isAlive(), "the sweep should still be running when killed");
            p.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        long before = lines(out) - 1;
        assertTrue(before >= 29 && before < 120, "killed part-way: " + before + " rows");
        Cli.Result r = Cli.run(cmd);
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("kept " + before + " of 120 rows"), r.err());
        assertEquals(full, Files.readString(out), "no row lost or duplicated: the uninterrupted table");
    }

    @Test
    void aTornLastRowIsDroppedAndRedone() throws IOException {
        Path out = dir.resolve("torn.csv");
        int cut = full.indexOf('\n', full.length() / 2) + 40; // 40 characters into a row
        Files.writeString(out, full.substring(0, cut));
        Cli.Result r = Cli.run(args(SWEEP, "-o", out.toString()));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("dropped an unfinished last row"), r.err());
        assertEquals(full, Files.readString(out));
        // a finished file: nothing to run, nothing changes
        Cli.Result again = Cli.run(args(SWEEP, "-o", out.toString()));
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("0 run now and 120 kept"), again.out());
        assertEquals(full, Files.readString(out));
    }

    @Test
    void aChangedGridIsRefusedUnlessForced() throws IOException {
        Path out = dir.resolve("grid.csv");
        List<String> small = List.of("sweep", "kvm-forum-2010", "--vary", "host.swap.latency=nvme,ssd", "--seeds", "2");
        assertEquals(0, Cli.run(args(small, "-o", out.toString())).status());
        String before = Files.readString(out);
        List<String> changed = List.of("sweep", "kvm-forum-2010", "--vary", "host.swap.latency=hdd,ssd", "--seeds",
                "2");
        Cli.Result r = Cli.run(args(changed, "-o", out.toString()));
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().contains("other settings") && r.err().contains("--force"), r.err());
        assertEquals(before, Files.readString(out), "the refused file is untouched");
        Cli.Result cols = Cli.run(args(List.of("sweep", "kvm-forum-2010", "--apf", "on,off", "--seeds", "2"), "-o",
                out.toString()));
        assertEquals(2, cols.status());
        assertTrue(cols.err().contains("other columns"), cols.err());

        Cli.Result forced = Cli.run(args(changed, "-o", out.toString(), "--force"));
        assertEquals(0, forced.status(), forced.err());
        assertEquals(5, Files.readString(out).lines().count());
        assertTrue(Files.readString(out).contains(",hdd,"));
    }

    @Test
    void mergeRefusesRowsThatDisagree() throws IOException {
        Path a = dir.resolve("a.csv");
        Files.writeString(a, full);
        Path b = dir.resolve("b.csv");
        List<String> lines = new ArrayList<>(full.lines().toList());
        lines.set(5, lines.get(5).replace(",ok,", ",panic,"));
        Files.writeString(b, String.join("\n", lines) + "\n");
        Cli.Result r = Cli.run("merge", "-o", dir.resolve("m.csv").toString(), a.toString(), b.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("row 4 differs between"), r.err());
        assertFalse(Files.exists(dir.resolve("m.csv")));
    }

    @Test
    void aFullDeviceIsOneLineAndExit74() throws IOException {
        assumeTrue(Files.isWritable(Path.of("/dev/full")), "no /dev/full");
        Path out = dir.resolve("full.csv");
        Files.createSymbolicLink(out, Path.of("/dev/full"));
        Cli.Result r = Cli.run("sweep", "kvm-forum-2010", "--seeds", "2", "-o", out.toString());
        assertEquals(Main.EXIT_IO, r.status(), r.err());
        assertEquals(1, r.err().lines().count(), "one line, no stack trace: " + r.err());
        assertTrue(r.err().contains("No space left on device"), r.err());
    }

    /**
     * A real small file system that fills up mid-sweep (root only: mounts a 24 KiB tmpfs): exit 74 in one line, every
     * row written before is whole, and the same command on a roomier disk finishes the table.
     */
    @Test
    void aDiskThatFillsUpKeepsEveryRowWrittenBefore() throws Exception {
        Path mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", mnt.toString()) == 0,
                "cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN): skipped");
        try {
            Path out = mnt.resolve("rows.csv");
            Cli.Result r = Cli.run(args(SWEEP, "-o", out.toString()));
            assertEquals(Main.EXIT_IO, r.status(), r.err());
            assertEquals(1, r.err().lines().count(), "one line: " + r.err());
            assertTrue(r.err().contains("No space left on device") && r.err().contains("resume"), r.err());
            String part = Files.readString(out, StandardCharsets.UTF_8);
            int whole = part.lastIndexOf('\n') + 1;
            assertTrue(whole > 10_000 && full.startsWith(part.substring(0, whole)), "whole rows kept: " + whole);
            Path roomy = dir.resolve("rows.csv");
            Files.writeString(roomy, part);
            assertEquals(0, Cli.run(args(SWEEP, "-o", roomy.toString())).status());
            assertEquals(full, Files.readString(roomy));
        } finally {
            run("umount", mnt.toString());
        }
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    static Process subprocess(String... args) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    static long lines(Path p) throws IOException {
        if (!Files.exists(p)) {
            return 0;
        }
        byte[] b = Files.readAllBytes(p);
        long n = 0;
        for (byte x : b) {
            if (x == '\n') {
                n++;
            }
        }
        return n;
    }
}
