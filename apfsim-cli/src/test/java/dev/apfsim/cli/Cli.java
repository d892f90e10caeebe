package dev.apfsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Runs the CLI in-process and captures what it prints. */
final class Cli {
    private Cli() {
    }

    record Result(int status, String out, String err) {
        JsonNode json() {
            try {
                return new ObjectMapper().readTree(out);
            } catch (IOException e) {
                throw new UncheckedIOException("stdout is not JSON: " + out, e);
            }
        }
    }

    static Result run(String... args) {
        CommandLine cmd = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int status = cmd.execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    /**
     * A small, fast scenario: one vCPU, one scripted task touching pages a userfault-like remote device serves
     * after 2 ms, so the run takes async faults, page-ready interrupts and a task wait.
     */
    static final String TINY = """
            name: tiny
            description: one task touching 4 remote pages
            duration: 50ms
            vm: {vcpus: 1, memory: 64MiB}
            host:
              remote: {latency: 2ms}
            memory:
              regions: [{start: 0x300000, size: 16KiB, state: remote}]
            workload:
              tasks:
                - type: script
                  name: reader
                  steps: [{touch: 0x300000}, {touch: 0x301000}, {touch: 0x302000}, {touch: 0x303000}]
            """;

    /** Two statistical tasks over swap: random, so the seed matters, and busy until the end. */
    static final String BUSY = """
            name: busy
            description: a CPU-bound and a memory-bound task over swap
            duration: 50ms
            vm: {vcpus: 1, memory: 256MiB}
            host:
              memory_limit: 64MiB
              swap: {latency: {type: exponential, mean: 200us}}
            memory:
              regions: [{start: 64MiB, size: 128MiB, state: swapped}]
            workload:
              tasks:
                - type: statistical
                  name: cpu
                  compute: {type: constant, value: 100us}
                  touches_per_op: 0
                - type: statistical
                  name: mem
                  compute: {type: exponential, mean: 50us}
                  working_set: {start: 64MiB, size: 128MiB}
            """;

    /** A kernel-mode touch with SEND_ALWAYS: the host injects the async #PF in kernel mode and the guest panics. */
    static final String PANIC = """
            name: panic
            duration: 1s
            vm: {vcpus: 1, memory: 64MiB}
            host:
              remote: {latency: 5ms}
            memory:
              regions: [{start: 0x300000, size: 4KiB, state: remote}]
            guest: {apf: custom, en_bits: 0xb}
            workload:
              tasks:
                - type: script
                  name: syscall
                  steps: [{kernel: true}, {touch: 0x300000}, {kernel: false}]
            """;

    static Path write(Path dir, String name, String text) {
        try {
            return Files.writeString(dir.resolve(name), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs {@code apfsim ARGS} in a separate JVM, waits until {@code file} has grown past {@code bytes} (the run
     * must still be going), then sends SIGTERM — which runs the shutdown hooks as Ctrl-C does — and waits.
     */
    static void interruptWhenGrown(Path dir, Path file, long bytes, long timeoutNs, String... args) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(javaBin, "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(java.util.List.of(args));
        Path out = dir.resolve("out.txt");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            long deadline = System.nanoTime() + timeoutNs;
            while ((!Files.exists(file) || Files.size(file) < bytes) && System.nanoTime() < deadline
                    && p.isAlive()) {
                Thread.sleep(20);
            }
            org.junit.jupiter.api.Assertions.assertTrue(p.isAlive(),
                    "the run should still be going: " + Files.readString(out));
            p.destroy(); // SIGTERM: runs the shutdown hooks like SIGINT
            p.waitFor();
        } finally {
            p.destroyForcibly();
        }
    }
}
