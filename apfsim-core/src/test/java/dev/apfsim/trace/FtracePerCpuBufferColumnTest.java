package dev.apfsim.trace;

import dev.apfsim.scenario.ScenarioException;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ftrace writes each event into the ring buffer of the CPU that emitted it ({@code smp_processor_id()} in
 * {@code trace_event_buffer_reserve}) and {@code trace-cmd report} prints that CPU in the column: for a vCPU
 * thread's tracepoints the host CPU the thread runs on, not the vCPU number.
 */
class FtracePerCpuBufferColumnTest {
    private static List<String> trace(String host) {
        Machine m = new Machine(ScenarioLoader.load("t.yaml", """
                name: t
                duration: 2ms
                vm: {vcpus: 2, memory: 64MiB}
                host: %s
                memory:
                  regions: [{start: 0x1000000, size: 64KiB, state: swapped}]
                workload:
                  tasks:
                    - {type: script, name: a, cpu: 0, steps: [{compute: 100us}, {touch: 0x1000000}, {compute: 100us}]}
                    - {type: script, name: b, cpu: 1, steps: [{compute: 100us}, {touch: 0x1001000}, {compute: 100us}]}
                """.formatted(host)));
        StringWriter out = new StringWriter();
        FtraceWriter w = new FtraceWriter(Path.of("t.txt"), out);
        m.attach(w);
        m.run();
        w.close();
        return Arrays.asList(out.toString().split("\n"));
    }

    private static boolean any(List<String> lines, String prefix) {
        return lines.stream().anyMatch(l -> l.startsWith(prefix));
    }

    @Test
    void vcpuThreadLinesPrintTheHostCpuTheThreadIsPinnedTo() {
        List<String> lines = trace("{cpus: 2, pin: [1, 0]}");
        assertTrue(any(lines, "CPU 0/KVM-1000 [001] "), "vCPU 0's thread runs on host CPU 1");
        assertTrue(any(lines, "CPU 1/KVM-1001 [000] "), "vCPU 1's thread runs on host CPU 0");
        assertFalse(any(lines, "CPU 0/KVM-1000 [000] ") || any(lines, "CPU 1/KVM-1001 [001] "),
                "pinned: never elsewhere");
        // the work vCPU 0 queued runs on a bound kworker of its thread's CPU (schedule_work → system_wq)
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("kworker/1:") && l.contains(" [001] ")
                && l.contains("gva 0x1000000")), String.join("\n", lines));
        assertTrue(any(lines, "guest-cpu0-0 [000] "), "a guest line shows the guest's own CPU");
        assertTrue(any(lines, "guest-cpu1-0 [001] "));
    }

    @Test
    void twoVcpuThreadsOnOneHostCpuShareItsColumn() {
        List<String> lines = trace("{cpus: 1}");
        assertTrue(any(lines, "CPU 0/KVM-1000 [000] "));
        assertTrue(any(lines, "CPU 1/KVM-1001 [000] "), "overcommit: vCPU 1's thread runs on the only host CPU");
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("CPU ") && !l.contains(" [000] ")));
    }

    @Test
    void aPinOutsideTheHostCpusIsAScenarioError() {
        assertThrows(ScenarioException.class, () -> trace("{cpus: 2, pin: [2, 0]}"));
    }
}
