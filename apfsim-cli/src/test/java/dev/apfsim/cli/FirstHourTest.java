package dev.apfsim.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a new user trips over with malformed scenario files: wrapping bounds, parser limits, empty files, field names
 * with spaces, invisible characters. Each is refused at once with one line naming file, line and column.
 */
class FirstHourTest {
    @TempDir
    Path dir;

    /** Exit 2, one line on stderr that starts with {@code prefix}, no stack trace. */
    private static void assertRefused(Cli.Result r, String prefix) {
        assertEquals(2, r.status(), r.err() + r.out());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith(prefix), err);
        assertFalse(err.contains("Exception") || err.contains("\tat ") || err.contains("internal error"), err);
    }

    private Cli.Result run(String name, String yaml, String... more) {
        Path f = Cli.write(dir, name, yaml);
        String[] args = new String[2 + more.length];
        args[0] = "run";
        args[1] = f.toString();
        System.arraycopy(more, 0, args, 2, more.length);
        return Cli.run(args);
    }

    // ---- item 5: addresses and sizes are unsigned, checked against guest memory -----------------------------

    @Test
    void addressesAtOrAbove2To63AreOutsideGuestMemory() {
        assertRefused(run("touch.yaml", """
                vm: {memory: 64MiB}
                workload:
                  tasks:
                    - {type: script, name: t, steps: [touch: 0xffffffffffffffff]}
                """), dir.resolve("touch.yaml") + ":4:46: field workload.tasks[0].steps[0].touch: expected an "
                + "address inside guest memory");
        assertRefused(run("region.yaml", """
                vm: {memory: 64MiB}
                memory:
                  regions: [{start: 0xfffffffffffff000, size: 8KiB, state: remote}]
                """), dir.resolve("region.yaml") + ":3:21: field memory.regions[0].start: expected an address "
                + "inside guest memory");
        assertRefused(run("size.yaml", """
                vm: {memory: 64MiB}
                memory:
                  regions: [{start: 0x1000, size: 0xfffffffffffff000, state: remote}]
                """), dir.resolve("size.yaml") + ":3:35: field memory.regions[0].size: the region "
                + "0x1000..0x10000000000000000 extends past the end of guest memory");
        assertRefused(run("ws.yaml", """
                vm: {memory: 64MiB}
                workload:
                  tasks:
                    - type: statistical
                      name: t
                      compute: 1us
                      working_set: {start: 0x8000000000000000, size: 4KiB}
                """), dir.resolve("ws.yaml") + ":7:28: field workload.tasks[0].working_set.start");
        assertRefused(run("wssize.yaml", """
                vm: {memory: 64MiB}
                workload:
                  tasks:
                    - type: statistical
                      name: t
                      compute: 1us
                      working_set: {start: 0x100000, size: 0xfffffffffff00000}
                """), dir.resolve("wssize.yaml") + ":7:44: field workload.tasks[0].working_set.size");
        assertRefused(run("fail.yaml", """
                vm: {memory: 64MiB}
                memory:
                  failures: [{kind: sigbus, start: 0x2000, size: 0xffffffffffffe000}]
                """), dir.resolve("fail.yaml") + ":3:50: field memory.failures[0].size");
        assertRefused(run("cpubound.yaml", """
                vm: {memory: 64MiB}
                workload:
                  tasks:
                    - type: statistical
                      name: t
                      compute: 1us
                      touches_per_op: 0
                      working_set: {start: 0xfffffffffffff000, size: 0}
                """), dir.resolve("cpubound.yaml") + ":8:28: field workload.tasks[0].working_set.start");
    }

    // ---- item 6: parser limits -----------------------------------------------------------------------------

    @Test
    void deepNestingIsRefusedInOneLine() {
        Path f = Cli.write(dir, "deep.yaml", "a: " + "[".repeat(5000) + "]".repeat(5000) + "\n");
        Cli.Result r = assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> Cli.run("run", f.toString()));
        assertRefused(r, f + ":1:");
        assertTrue(r.err().contains("nesting deeper than 100 levels"), r.err());
    }

    @Test
    void hugeFileIsRefusedBeforeItIsParsed() throws Exception {
        Path f = dir.resolve("big.yaml");
        Files.writeString(f, "description: " + "x".repeat(10_000_000) + "\n");
        long start = System.nanoTime();
        Cli.Result r = Cli.run("run", f.toString());
        // the refusal comes from the file size, before a byte of YAML is parsed
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "took " + (System.nanoTime() - start) / 1e9 + " s");
        assertRefused(r, f + ": the file has 10,000,014 bytes, more than a scenario may have");
    }

    @Test
    void longNumbersAreRefusedWithoutParsingThem() {
        Cli.Result r = assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> run("n.yaml", "vm: {memory: " + "9".repeat(500_000) + "MiB}\n"));
        assertRefused(r, dir.resolve("n.yaml") + ":1:14: field vm.memory: expected a size like 64MiB, got");
        assertTrue(r.err().length() < 400, r.err());
    }

    // ---- item 7: silent surprises in scenario files ----------------------------------------------------------

    @Test
    void emptyFileIsRefused() {
        assertRefused(run("empty.yaml", ""), dir.resolve("empty.yaml") + ": the file is empty");
        assertRefused(run("comments.yaml", "# nothing yet\n\n"), dir.resolve("comments.yaml")
                + ": the file is empty (no fields, only blank lines or comments): nothing to run");
    }

    @Test
    void fieldNamesAreTrimmedLikeValues() {
        Cli.Result r = run("keys.yaml", Cli.TINY.replace("vm: {vcpus: 1, memory: 64MiB}",
                "vm: {\" vcpus \": 1, \"memory \": 64MiB}"), "--json");
        assertEquals(0, r.status(), r.err());
        assertEquals("ok", r.json().get("outcome").get("kind").asText());
    }

    @Test
    void invisibleCharactersInMessagesAreEscaped() {
        Cli.Result r = run("zw.yaml", "vm:\n  memory\u200b: 64MiB\n");
        assertRefused(r, dir.resolve("zw.yaml") + ":2:3: field vm.memory\\u200B: unknown field (did you mean "
                + "\"memory\"?");
        Cli.Result r2 = run("bidi.yaml", "vm: {vcpus: \"1\\u00a0\\x07\\u202e\"}\n"); // YAML escapes
        assertRefused(r2, dir.resolve("bidi.yaml") + ":1:13: field vm.vcpus: expected an integer");
        assertTrue(r2.err().contains("got \"1\\u00A0\\u0007\\u202E\""), r2.err());
    }

    // ---- item 2: a run always advances simulated time or stops ----------------------------------------------

    private static final String SPIN = """
            duration: 10ms
            workload:
              tasks:
                - type: statistical
                  name: spin
                  compute: 0ns
                  touches_per_op: 0
            """;

    @Test
    void zeroComputeThatCannotProgressIsRefused() {
        Cli.Result r = assertTimeoutPreemptively(java.time.Duration.ofSeconds(30), () -> run("spin.yaml", SPIN));
        assertRefused(r, dir.resolve("spin.yaml") + ":6:16: field workload.tasks[0].compute: a compute burst of 0 "
                + "makes no progress");
    }

    @Test
    void aLoopAtOneInstantEndsAsNoProgress() {
        // max_ops makes it legal but practically endless: the watchdog ends it at the instant it is stuck at
        Cli.Result r = assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
                () -> run("spin.yaml", SPIN, "--set", "workload.tasks.0.max_ops=1000000000000", "--json"));
        assertEquals(0, r.status(), r.err());
        var o = r.json().get("outcome");
        assertEquals("no_progress", o.get("kind").asText());
        assertTrue(o.get("message").asText().startsWith("no progress at t=0.000009 s"), o.toString());
        assertEquals(9, o.get("time_ns").asLong() / 1000);
        Cli.Result q = run("spin.yaml", SPIN, "--set", "workload.tasks.0.max_ops=1000000000000", "-q");
        assertTrue(q.out().startsWith("outcome: no_progress  no progress at t=0.000009 s"), q.out());
    }

    // ---- item 13: kernel-mode time is counted where it is spent ----------------------------------------------

    @Test
    void pageFaultHandlersCountAsTheTasksKernelTime() {
        Cli.Result r = run("busy.yaml", Cli.BUSY.replace("working_set: {start: 64MiB, size: 128MiB}",
                "working_set: {start: 64MiB, size: 128MiB}\n      kernel_fraction: 0.2"), "--json");
        assertEquals(0, r.status(), r.err());
        var mem = r.json().get("tasks").get(1);
        assertEquals("mem", mem.get("name").asText());
        long waits = mem.get("apf_waits").asLong();
        assertTrue(waits > 10, mem.toString());
        // every async PF the task waited on ran the guest's #PF handler (pf_handler_cost 1.5us) in its context
        assertTrue(mem.get("kernel_ns").asLong() >= waits * 1_500, mem.toString());
        Cli.Result table = run("busy.yaml", Cli.BUSY);
        String line = table.out().lines().filter(l -> l.startsWith("mem ")).findFirst().orElseThrow();
        assertFalse(line.matches(".*\\s0\\.0%\\s*$") || line.contains(" 0.0%  "), line);
    }

    // ---- item 1: compare runs a scenario's variants ----------------------------------------------------------

    private static final String TWO_VARIANTS = Cli.TINY + """
            variants:
              short: [duration=5ms]
              long: []
              slow: [host.remote.latency=4ms]
            """;

    private static java.util.List<String> labels(Cli.Result r) {
        java.util.List<String> out = new java.util.ArrayList<>();
        r.json().get("variants").forEach(v -> out.add(v.get("label").asText()));
        return out;
    }

    @Test
    void compareRunsTheScenariosVariantsWithEachColumnsSimulatedTime() {
        Path f = Cli.write(dir, "v.yaml", TWO_VARIANTS);
        Cli.Result all = Cli.run("compare", f.toString(), "--json");
        assertEquals(0, all.status(), all.err());
        assertEquals(java.util.List.of("short", "long", "slow"), labels(all));
        assertEquals(5_000_000, all.json().get("variants").get(0).get("result").get("simulated_ns").asLong());
        // the tiny scenario ends when its reader is done, before its 50 ms
        assertEquals(12_148_200, all.json().get("variants").get(1).get("result").get("simulated_ns").asLong());

        Cli.Result some = Cli.run("compare", f.toString(), "--variant", "slow,short", "--json");
        assertEquals(0, some.status(), some.err());
        assertEquals(java.util.List.of("slow", "short"), labels(some));

        Cli.Result table = Cli.run("compare", f.toString(), "--variant", "short,long");
        assertEquals(0, table.status(), table.err());
        assertTrue(table.out().lines().anyMatch(l -> l.equals("simulated: short 0.005000 s, long 0.012148 s")),
                table.out());

        // the seed scenarios' variants, as docs/scenarios.md promises
        Cli.Result seed = Cli.run("compare", "seed-001-page-ready", "--variant", "old,fixed", "--json");
        assertEquals(0, seed.status(), seed.err());
        assertEquals(java.util.List.of("old", "fixed"), labels(seed));

        Cli.Result unknown = Cli.run("compare", f.toString(), "--variant", "short,nope");
        assertRefused(unknown, "apfsim: " + f + ": no variant 'nope'; it has short, long, slow");
        assertRefused(Cli.run("run", f.toString(), "--variant", "short,long"), "apfsim: --variant takes one name");
    }

    // ---- item 4: start from a built-in --------------------------------------------------------------------------

    @Test
    void scenariosShowPrintsTheBuiltinAsWrittenAndItRunsTheSame() throws Exception {
        Cli.Result shown = Cli.run("scenarios", "--show", "example-minimal");
        assertEquals(0, shown.status(), shown.err());
        assertEquals(dev.apfsim.scenario.BuiltinScenarios.text("example-minimal"), shown.out());
        assertTrue(shown.out().startsWith("#"), "comments included: " + shown.out());
        Path mine = Cli.write(dir, "my.yaml", shown.out());
        String builtin = Cli.run("run", "example-minimal", "--json").json().get("fingerprint").asText();
        assertEquals(builtin, Cli.run("run", mine.toString(), "--json").json().get("fingerprint").asText());
        assertRefused(Cli.run("scenarios", "--show", "example-minimall"), "example-minimall: no built-in scenario "
                + "of that name (did you mean \"example-minimal\"?");
    }

    // ---- item 7: silent surprises on the command line -------------------------------------------------------

    @Test
    void zeroJobsIsRefused() {
        Path f = Cli.write(dir, "tiny.yaml", Cli.TINY);
        for (String cmd : new String[]{"compare", "check", "sweep"}) {
            Cli.Result r = cmd.equals("sweep")
                    ? Cli.run(cmd, f.toString(), "-j", "0", "-o", dir.resolve("s.csv").toString())
                    : Cli.run(cmd, f.toString(), "-j", "0");
            assertEquals(2, r.status(), cmd + ": " + r.err());
            assertTrue(r.err().contains("expected at least 1 parallel run, got 0"), cmd + ": " + r.err());
        }
    }

    @Test
    void unknownSweepOutputFormatIsRefused() {
        Path f = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path out = dir.resolve("x.xlsx");
        assertRefused(Cli.run("sweep", f.toString(), "-o", out.toString()), "apfsim: -o " + out
                + ": unknown output format (known: .csv, .ndjson, .parquet)");
        assertFalse(Files.exists(out));
    }

    @Test
    void traceAndEventsInOneFileAreRefused() {
        Path f = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Path same = dir.resolve("out.txt");
        assertRefused(Cli.run("run", f.toString(), "--trace", same.toString(), "--events",
                dir.resolve("sub/../out.txt").toString()), "apfsim: --trace and --events name the same file");
        assertFalse(Files.exists(same));
        assertRefused(Cli.run("run", f.toString(), "--events", same.toString(), "--report", same.toString()),
                "apfsim: --events and --report name the same file");
    }

    @Test
    void versionOnASubcommand() {
        for (String cmd : new String[]{"run", "compare", "check", "sweep", "scenarios"}) {
            Cli.Result r = Cli.run(cmd, "-V");
            assertEquals(0, r.status(), cmd + ": " + r.err());
            assertTrue(r.out().startsWith("apfsim "), cmd + ": " + r.out());
        }
    }

    @Test
    void aScenarioWithoutTasksSaysNothingToRun() {
        Cli.Result r = run("notasks.yaml", "vm: {vcpus: 1, memory: 64MiB}\nduration: 1ms\n");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("nothing to run: the scenario has no tasks"), r.out());
    }

    // ---- item 10: check's reproducer goes to a temporary directory, with hex addresses --------------------------

    @Test
    void checkWritesItsReproducerIntoATempDirWithHexAddresses() throws Exception {
        Cli.Result r = Cli.run("check", "seed-001-page-ready", "--variant", "old", "--runs", "500", "--json");
        assertEquals(1, r.status(), r.err());
        Path repro = Path.of(r.json().get("minimal_scenario").asText());
        assertTrue(repro.isAbsolute(), repro.toString());
        assertTrue(repro.getParent().getFileName().toString().startsWith("apfsim-check-"), repro.toString());
        assertFalse(repro.getParent().equals(Path.of("").toAbsolutePath()), "not the current directory");
        assertEquals("seed-001-page-ready-liveness.yaml", repro.getFileName().toString());
        String yaml = Files.readString(repro);
        assertTrue(yaml.contains("- touch: 0x30"), yaml);
        assertTrue(yaml.contains("start: 0x300000"), yaml);
        assertFalse(yaml.contains("!!int"), yaml);
        assertFalse(yaml.matches("(?s).*touch: [0-9]{4,}.*"), "no decimal addresses: " + yaml);
        // it replays: the same violation
        Cli.Result replay = Cli.run("run", repro.toString(), "--json");
        assertEquals(r.json().get("violation").get("detail").asText(),
                replay.json().get("violations").get(0).asText().replaceFirst("^liveness at [0-9.]+ s on vCPU 0: ", ""));
        // --out DIR: the reproducer goes into it
        Cli.Result intoDir = Cli.run("check", "seed-001-page-ready", "--variant", "old", "--runs", "500", "--json",
                "--out", dir.toString());
        assertEquals(dir.resolve("seed-001-page-ready-liveness.yaml").toString(),
                intoDir.json().get("minimal_scenario").asText());
        Files.deleteIfExists(repro);
        Files.deleteIfExists(repro.getParent());
    }

    // ---- item 8: an interrupted run says where it stopped ---------------------------------------------------

    @Test
    void sigtermPrintsWhereTheRunStoppedAndTheResultSoFar() throws Exception {
        Path trace = dir.resolve("run.txt");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "run", "overcommit-ssd", "--duration", "1000s", "--trace", trace.toString(), "--json")
                .redirectOutput(dir.resolve("out.json").toFile()).redirectError(dir.resolve("err.txt").toFile())
                .start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while ((!Files.exists(trace) || Files.size(trace) < 200_000) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(p.isAlive(), "the run should still be going: " + Files.readString(dir.resolve("err.txt")));
            p.destroy(); // SIGTERM, handled like Ctrl-C
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        String err = Files.readString(dir.resolve("err.txt")).strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.matches("apfsim: interrupted at simulated t=\\d+\\.\\d{6} s, [0-9,]+ events; partial trace kept in "
                + java.util.regex.Pattern.quote(trace.toString())), err);
        var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("out.json").toFile());
        assertEquals("interrupted", j.get("outcome").get("kind").asText());
        long simulated = j.get("simulated_ns").asLong();
        assertTrue(simulated > 0 && simulated < 1000_000_000_000L, j.toString());
        assertEquals(simulated, j.get("outcome").get("time_ns").asLong());
        assertTrue(j.get("events").asLong() > 0);
        assertTrue(err.contains(String.format(java.util.Locale.ROOT, "t=%d.%06d s", simulated / 1_000_000_000,
                simulated % 1_000_000_000 / 1000)), err);
        // the trace is whole and holds the events up to the stop
        String last = Files.readAllLines(trace).getLast();
        assertTrue(last.matches(".*\\[\\d{3}\\] +\\d+\\.\\d{6}: \\w+:.*"), last);
        assertEquals(j.get("trace_events").asLong(), Files.lines(trace).count());
    }

    // ---- item 9: progress follows wall time ---------------------------------------------------------------

    @Test
    void progressOfAHundredYearRunMovesByWallTime() throws Exception {
        long hundredYears = 100L * 365 * 86_400 * 1_000_000_000L;
        dev.apfsim.engine.Simulator sim = new dev.apfsim.engine.Simulator(1);
        sim.at(0, new dev.apfsim.engine.EventHandler() {
            @Override
            public void onEvent(int code, long arg) {
                sim.after(1_000_000_000L, this, 0, 0); // one event per simulated second
            }
        }, 0, 0);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stream = new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8);
        Thread run = new Thread(() -> sim.run(hundredYears));
        try (Progress bar = Progress.forced("run long", Progress.PER_RUN, 0, stream)) {
            bar.trackRuns(new java.util.concurrent.atomic.AtomicReferenceArray<>(
                    new dev.apfsim.engine.Simulator[]{sim}), new long[]{hundredYears}, new boolean[1]);
            run.start();
            Thread.sleep(1_100);
            sim.requestInterrupt();
            run.join();
        }
        String[] frames = bytes.toString(java.nio.charset.StandardCharsets.UTF_8).split("\r");
        java.util.List<String> drawn = java.util.Arrays.stream(frames).filter(f -> f.contains("simulated")).toList();
        assertTrue(drawn.size() >= 3, "redrawn every 200 ms: " + drawn);
        assertTrue(drawn.getLast().matches("(?s).*%.* t=[0-9.]+ (y|d) of 100 y simulated, [0-9.]+ [kMG]?events/s.*"),
                drawn.getLast());
        assertFalse(drawn.getFirst().equals(drawn.getLast()), "it moves: " + drawn);
    }

    // ---- item 11: report legibility ------------------------------------------------------------------------

    /** The {@code <svg id="ID">...</svg>} chart of a report. */
    private static String chart(String html, String id) {
        int start = html.indexOf("<svg id=\"" + id + "\"");
        assertTrue(start >= 0, "no chart " + id);
        return html.substring(start, html.indexOf("</svg>", start));
    }

    @Test
    void okWithAViolationIsNeverAGreenBadge() throws Exception {
        Path one = dir.resolve("one.html");
        assertEquals(0, Cli.run("run", "token-wrap", "--variant", "old", "--report", one.toString()).status());
        String html = Files.readString(one);
        assertTrue(html.contains("1 violation"), "the run hands out token 0 but ends ok");
        assertFalse(html.contains("class=\"badge ok\""), "no green badge next to a violation");
        Path two = dir.resolve("two.html");
        assertEquals(0, Cli.run("compare", "token-wrap", "--report", two.toString()).status());
        String cmp = Files.readString(two);
        assertTrue(cmp.contains("class=\"badge bad\">ok · 1 violation</span>"), "old: ok with a violation");
        assertTrue(cmp.contains("class=\"badge ok\">ok</span>"), "fixed: green");
    }

    @Test
    void rareEventsGetTheirOwnPanel() throws Exception {
        Path f = dir.resolve("r.html");
        assertEquals(0, Cli.run("run", "overcommit-ssd", "--duration", "100ms", "--report", f.toString()).status());
        String html = Files.readString(f);
        String common = chart(html, "rates-0");
        String rare = chart(html, "rates-rare-0");
        assertTrue(common.contains("<title>not_present (async PF set up)</title>"), common);
        assertFalse(common.contains("<title>repeated fault"), "rare events are not flattened under common ones");
        assertTrue(rare.contains("<title>repeated fault</title>") && rare.contains("<title>sync fault</title>"), rare);
    }

    @Test
    void coincidingLinesAreDashedAndNamed() throws Exception {
        Path f = dir.resolve("c.html");
        assertEquals(0, Cli.run("compare", "example-minimal", "--vary", "host.remote.queue_depth=64,65", "--report",
                f.toString()).status());
        String cdf = chart(Files.readString(f), "cdf-fault-to-ready");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "<path class=\"mark\"[^>]*stroke-dasharray=\"[0-9 ]+\"[^>]*><title>host.remote.queue_depth=65 [^<]*"
                        + "\\(same as host.remote.queue_depth=64\\)</title>").matcher(cdf);
        assertTrue(m.find(), "the second, identical CDF is dashed and says so: " + cdf);
    }

    // ---- item 3: nothing points outside the repository --------------------------------------------------------

    @Test
    void docsAndCodeCiteKernelFunctionsNotFilesOutsideTheRepo() throws Exception {
        Path start = Path.of("").toAbsolutePath();
        while (!Files.exists(start.resolve("apfsim-core")) && start.getParent() != null) {
            start = start.getParent();
        }
        Path root = start;
        // spelled in pieces so that this file does not match itself
        java.util.List<String> banned = java.util.List.of("REFER" + "ENCE", "../sha" + "red", "/work/sha" + "red",
                "\u00a7", "Appen" + "dix C");
        java.util.List<String> found = new java.util.ArrayList<>();
        java.util.List<Path> files;
        try (var walk = Files.walk(root)) {
            files = walk.filter(Files::isRegularFile)
                    .filter(f -> !root.relativize(f).toString().matches("(\\.git|.*target)(/.*)?"))
                    .filter(f -> f.toString().matches(".*\\.(md|java|yaml|txt)$")).toList();
        }
        assertTrue(files.size() > 100, "walked the repository from " + root);
        for (Path f : files) {
            java.util.List<String> lines = Files.readAllLines(f);
            for (int i = 0; i < lines.size(); i++) {
                for (String b : banned) {
                    if (lines.get(i).contains(b)) {
                        found.add(root.relativize(f) + ":" + (i + 1) + ": " + b);
                    }
                }
            }
        }
        assertEquals(java.util.List.of(), found);
        // and every docs/*.md a document links to is in the repository
        java.util.regex.Pattern link = java.util.regex.Pattern.compile("\\]\\(([a-z0-9-]+\\.md)(#[^)]*)?\\)");
        for (Path f : files.stream().filter(f -> f.getParent().endsWith("docs")).toList()) {
            java.util.regex.Matcher m = link.matcher(Files.readString(f));
            while (m.find()) {
                assertTrue(Files.exists(f.getParent().resolve(m.group(1))), f + " links to " + m.group(1));
            }
        }
    }
}
