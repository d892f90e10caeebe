package dev.apfsim.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input: exit 2, a short message on stderr, never a stack trace. */
class ErrorsTest {
    @TempDir
    Path dir;

    private static void assertNoStackTrace(Cli.Result r) {
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(r.err().contains("internal error"), r.err());
    }

    @Test
    void unknownKeyInScenarioFile() {
        Path yaml = Cli.write(dir, "broken.yaml", Cli.TINY.replace("vm: {vcpus: 1, memory: 64MiB}",
                "vm: {vcpus: 1, memory: 64MiB}\nbogus_key: 3"));
        Cli.Result r = Cli.run("run", yaml.toString());
        assertEquals(2, r.status(), r.err());
        assertEquals("", r.out());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.matches(".*broken\\.yaml:5:1: .*bogus_key.*"), err);
        assertNoStackTrace(r);
    }

    @Test
    void badValueInScenarioFileNamesTheField() {
        Path yaml = Cli.write(dir, "bad.yaml", Cli.TINY.replace("latency: 2ms", "latency: fast"));
        Cli.Result r = Cli.run("run", yaml.toString(), "--json");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().strip().matches(".*bad\\.yaml:\\d+:\\d+: field host\\.remote\\.latency.*"), r.err());
        assertNoStackTrace(r);
    }

    @Test
    void unknownScenario() {
        Cli.Result r = Cli.run("run", "no-such-scenario");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("no-such-scenario"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertNoStackTrace(r);
    }

    @Test
    void badSetOverride() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("run", yaml.toString(), "--set", "vm.vcpus=zero");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("vm.vcpus"), r.err());
        assertNoStackTrace(r);
    }

    @Test
    void badOptionValues() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        for (String[] args : new String[][]{
                {"run", yaml.toString(), "--apf", "maybe"},
                {"run", yaml.toString(), "--duration", "10parsecs"},
                {"run", yaml.toString(), "--seed", "x"},
                {"run", yaml.toString(), "--set", "novalue"},
                {"run", yaml.toString(), "--frobnicate"},
                {"run"},
                {"compare", yaml.toString(), "--vary", "vm.vcpus"},
                {"frobnicate"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().startsWith("apfsim"), r.err());
            assertNoStackTrace(r);
        }
        Cli.Result r = Cli.run("run", yaml.toString(), "--duration", "10parsecs");
        assertTrue(r.err().contains("--duration"), r.err());
        assertTrue(r.err().contains("10parsecs"), r.err());
    }

    @Test
    void internalErrorsPrintAStackTraceAndExit70() {
        picocli.CommandLine cmd = Main.commandLine();
        java.io.StringWriter err = new java.io.StringWriter();
        cmd.setErr(new java.io.PrintWriter(err, true));
        int status = new Main.Failures().handleExecutionException(new IllegalStateException("boom"), cmd, null);
        assertEquals(70, status);
        assertTrue(err.toString().startsWith("apfsim: internal error: java.lang.IllegalStateException: boom\n"),
                err.toString());
        assertTrue(err.toString().contains("\tat "), err.toString());
    }

    @Test
    void traceFileInMissingDirectory() {
        Path yaml = Cli.write(dir, "tiny.yaml", Cli.TINY);
        Cli.Result r = Cli.run("run", yaml.toString(), "--trace", dir.resolve("nope/trace.txt").toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("cannot create trace file"), r.err());
        assertNoStackTrace(r);
    }
}
