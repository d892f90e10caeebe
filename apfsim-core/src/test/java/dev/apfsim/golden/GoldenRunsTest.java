package dev.apfsim.golden;

import dev.apfsim.report.NdjsonWriter;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.Scenarios;
import dev.apfsim.sim.ApfSwitch;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.ResultJson;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.FtraceWriter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every built-in scenario, each of its variants, with the scenario's own {@code --apf} setting and with
 * {@code --apf on|off|sync}, plus {@code overcommit-ssd} on the arm64 and s390 hosts ({@code --set host.arch=}), run
 * as {@code apfsim run} runs it: the fingerprint, the SHA-256 of the
 * {@code --trace} text, of the {@code --events} log (timeline events included) and of the {@code --json} result
 * (its two wall-clock fields zeroed) must equal the checked-in {@code golden/fingerprints.tsv}.
 *
 * <p>A commit that changes behaviour on purpose regenerates the file with
 * {@code ./mvnw -pl apfsim-core test -Dtest=GoldenRunsTest -Dapfsim.golden.update=true} and says so in its message
 * (docs/architecture.md, "Golden runs").
 */
class GoldenRunsTest {
    static final String FILE = "golden/fingerprints.tsv";
    static final String HEADER = "# scenario\tvariant\tapf\tfingerprint\ttrace_sha256\tevents_sha256\tjson_sha256";

    record Case(String scenario, String variant, String apf) {
        String key() {
            return scenario + "\t" + variant + "\t" + apf;
        }
    }

    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (String name : BuiltinScenarios.names()) {
            List<String> variants = new ArrayList<>();
            variants.add("-");
            variants.addAll(BuiltinScenarios.variants(name).keySet());
            for (String v : variants) {
                for (String apf : List.of("-", "on", "off", "sync")) {
                    out.add(new Case(name, v, apf));
                }
            }
        }
        // the same workload on the other architectures' hosts (compare overcommit-ssd --vary host.arch=...)
        for (String arch : List.of("arm64", "s390")) {
            out.add(new Case("overcommit-ssd", "host.arch=" + arch, "-"));
        }
        return out;
    }

    /** One run as {@code apfsim run NAME [--variant V] [--apf A] --trace t.txt --events e.ndjson --json}. */
    static String run(Case c) {
        List<String> overrides = c.variant().equals("-") ? List.of() : c.variant().contains("=")
                ? List.of(c.variant()) : BuiltinScenarios.variants(c.scenario()).get(c.variant());
        Scenario s = Scenarios.resolve(c.scenario(), overrides);
        if (!c.apf().equals("-")) {
            s = ApfSwitch.parse(c.apf()).apply(s);
        }
        Machine m = new Machine(s);
        HashingWriter trace = new HashingWriter();
        HashingWriter events = new HashingWriter();
        FtraceWriter ftrace = new FtraceWriter(Path.of("golden-trace.txt"), trace);
        NdjsonWriter ndjson = new NdjsonWriter("golden-events.ndjson", events);
        m.attach(ftrace);
        m.attach(ndjson);
        RunResult r = m.run();
        ftrace.close();
        ndjson.close();
        RunResult stable = new RunResult(r.schemaVersion(), r.scenario(), r.seed(), r.apf(), r.simulatedNs(),
                r.events(), r.traceEvents(), 0, 0, r.outcome(), r.counters(), r.latencies(), r.tasks(), r.vcpus(),
                r.memory(), r.workerBusyNs(), r.failure(), r.violations(), r.fingerprint());
        String json = sha(ResultJson.toJson(stable).getBytes(StandardCharsets.UTF_8));
        return c.key() + "\t" + r.fingerprint() + "\t" + trace.hex() + "\t" + events.hex() + "\t" + json;
    }

    @Test
    void everyBuiltinRunMatchesTheGoldenFile() throws Exception {
        List<Case> cases = cases();
        List<String> lines = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            List<Future<String>> fs = new ArrayList<>();
            for (Case c : cases) {
                fs.add(pool.submit(() -> run(c)));
            }
            for (Future<String> f : fs) {
                lines.add(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        if (Boolean.getBoolean("apfsim.golden.update")) {
            Path out = Path.of("src/test/resources", FILE);
            List<String> text = new ArrayList<>();
            text.add("# Golden runs of every built-in scenario (GoldenRunsTest). Regenerate with");
            text.add("# ./mvnw -pl apfsim-core test -Dtest=GoldenRunsTest -Dapfsim.golden.update=true");
            text.add("# and say so in the commit message: only a behaviour change may alter a line.");
            text.add(HEADER);
            text.addAll(lines);
            Files.write(out, text, StandardCharsets.UTF_8);
            return;
        }
        Map<String, String> golden = golden();
        List<String> diffs = new ArrayList<>();
        for (String line : lines) {
            String key = line.substring(0, nthTab(line, 3));
            String want = golden.remove(key);
            if (want == null) {
                diffs.add("not in the golden file: " + line);
            } else if (!want.equals(line)) {
                diffs.add("changed: " + key.replace('\t', ' ') + "\n  golden " + want.substring(key.length() + 1)
                        + "\n  now    " + line.substring(key.length() + 1));
            }
        }
        for (String missing : golden.values()) {
            diffs.add("no longer run: " + missing);
        }
        if (!diffs.isEmpty()) {
            fail(diffs.size() + " golden runs differ (regenerate only for an intended behaviour change):\n"
                    + String.join("\n", diffs));
        }
        assertEquals(cases.size(), lines.size());
    }

    static Map<String, String> golden() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (var in = GoldenRunsTest.class.getClassLoader().getResourceAsStream(FILE)) {
            if (in == null) {
                fail(FILE + " is missing: generate it with -Dapfsim.golden.update=true");
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.put(line.substring(0, nthTab(line, 3)), line);
                }
            }
        }
        return out;
    }

    static int nthTab(String s, int n) {
        int at = -1;
        for (int i = 0; i < n; i++) {
            at = s.indexOf('\t', at + 1);
        }
        return at;
    }

    static String sha(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A writer that keeps only the SHA-256 of the UTF-8 text written to it. */
    static final class HashingWriter extends Writer {
        private final MessageDigest md;
        private String hex;

        HashingWriter() {
            try {
                md = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void write(char[] buf, int off, int len) {
            md.update(new String(buf, off, len).getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }

        String hex() {
            if (hex == null) {
                hex = HexFormat.of().formatHex(md.digest());
            }
            return hex;
        }
    }
}
