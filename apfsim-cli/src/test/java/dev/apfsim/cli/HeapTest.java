package dev.apfsim.cli;

import dev.apfsim.scenario.ScenarioLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run too large for the Java heap: one line with the heap to ask for, exit 2, never a stack trace. */
class HeapTest {
    static final String HUGE = """
            name: huge
            description: a 1 TiB guest
            duration: 1s
            vm: {vcpus: 16, memory: 1TiB}
            host: {memory_limit: 512GiB}
            workload:
              tasks:
                - {type: statistical, name: db, count: 16, compute: {type: exponential, mean: 10us},
                   working_set: {start: 0, size: 1TiB}}
            """;

    @TempDir
    Path dir;

    record Exit(int status, List<String> err) {
    }

    /** {@code java -Xmx300m ... apfsim ARGS} in a JVM of its own. */
    private Exit runWithSmallHeap(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx300m"));
        for (String a : args) {
            if (a.startsWith("-D")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        for (String a : args) {
            if (!a.startsWith("-D")) {
                cmd.add(a);
            }
        }
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(dir.resolve("out.txt").toFile())
                .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "finishes");
        return new Exit(p.exitValue(), Files.readAllLines(err));
    }

    @Test
    void aOneTebibyteGuestInThreeHundredMebibytesIsOneLineAndExit2() throws Exception {
        Path huge = Cli.write(dir, "huge.yaml", HUGE);
        Exit e = runWithSmallHeap("run", huge.toString());
        assertEquals(2, e.status(), e.err().toString());
        assertEquals(1, e.err().size(), "one line: " + e.err());
        String line = e.err().getFirst();
        assertTrue(line.startsWith("apfsim: huge needs about "), line);
        assertTrue(line.contains("this JVM has 300 MiB") && line.contains("APFSIM_HEAP=768m")
                && line.contains("-Xmx768m"), line);
    }

    @Test
    void anOutOfMemoryErrorAnywayIsTheSameAdviceWithoutAStackTrace() throws Exception {
        Path huge = Cli.write(dir, "huge.yaml", HUGE);
        Exit e = runWithSmallHeap("-Dapfsim.heapCheck=off", "run", huge.toString());
        assertEquals(2, e.status(), e.err().toString());
        assertEquals(List.of("apfsim: out of memory: the Java heap (300 MiB) is too small for this run; run it with "
                + "APFSIM_HEAP=768m ./apfsim ... (or java -Xmx768m -jar apfsim.jar ...)"), e.err());
    }

    @Test
    void parallelRunsCountOncePerRun() {
        var s = ScenarioLoader.load("huge.yaml", HUGE, List.of("vm.memory=64GiB", "host.memory_limit=32GiB",
                "workload.tasks[0].working_set.size=64GiB"));
        long one = dev.apfsim.sim.MemoryEstimate.of(s).forRuns(1);
        assertDoesNotThrow(() -> HeapCheck.require(s, 1, one));
        Main.UserException e = assertThrows(Main.UserException.class, () -> HeapCheck.require(s, 2, one));
        assertTrue(e.getMessage().contains("for 2 runs at once") && e.getMessage().endsWith("or fewer parallel runs "
                + "(-j 1)"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
