package dev.apfsim.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceEvent.*;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PerfettoWriterTest {
    @TempDir
    static Path dir;
    static Fixture.Run run;
    static TraceCheck trace;

    @BeforeAll
    static void runFixture() throws Exception {
        run = Fixture.run(Fixture.scenario(), dir.resolve("run.json"), null);
        trace = TraceCheck.read(run.trace());
    }

    @Test
    void namesAProcessForTheVmAndOneForTheHostWorkers() {
        assertTrue(trace.processNames.get(PerfettoWriter.VM_PID).startsWith("VM report-fixture (seed "),
                trace.processNames.toString());
        assertEquals("KVM host workers", trace.processNames.get(PerfettoWriter.HOST_PID));
        Set<String> threads = Set.copyOf(trace.threadNames.values());
        for (String t : List.of("vCPU 0", "vCPU 1", "task app-0 (cpu 0)", "task app-1 (cpu 1)", "task cpu (cpu 1)",
                "worker 0")) {
            assertTrue(threads.contains(t), t + " in " + threads);
        }
    }

    @Test
    void vcpuTracksShowBlockedTimeBetweenRunningTime() {
        Set<String> allowed = Set.of("running (guest or host)", "idle (hlt)", "synthetic halt (apf)",
                "sync fault (blocked in GUP)", "guest", "guest user", "guest kernel", "host", "stopped", "preempted (host CPU busy)");
        for (String vcpu : List.of("vCPU 0", "vCPU 1")) {
            List<TraceCheck.Slice> s = trace.slicesOn(vcpu).stream().filter(x -> allowed.contains(x.name())).toList();
            assertFalse(s.isEmpty(), vcpu);
            assertEquals(0.0, s.getFirst().start(), "from the start of the run");
            assertEquals(run.result().simulatedNs() / 1e3, s.getLast().end(), 1e-3, "to the end of the run");
            for (int i = 1; i < s.size(); i++) {
                assertEquals(s.get(i - 1).end(), s.get(i).start(), 1e-9, "states tile the timeline: " + s.get(i));
                // a host pass the host scheduler preempts at once (a woken kworker) is an instant
                boolean preemptedAtOnce = i + 1 < s.size() && s.get(i + 1).name().startsWith("preempted");
                assertTrue(s.get(i).end() > s.get(i).start() || preemptedAtOnce, "no empty state slice: " + s.get(i));
            }
        }
        Set<String> names = trace.slices.stream().map(TraceCheck.Slice::name).collect(Collectors.toSet());
        assertTrue(names.contains("idle (hlt)"), names.toString());
        long sync = trace.slices.stream().filter(x -> x.name().startsWith("sync fault")).count();
        assertEquals(run.result().counter("sync_faults_irqs_off"), sync, "one slice per synchronous fault");
    }

    @Test
    void taskTracksShowRunningRunnableAndAsleepOnAToken() {
        List<TraceCheck.Slice> app = trace.slicesOn("task app-0 (cpu 0)");
        Set<String> names = app.stream().map(TraceCheck.Slice::name).map(n -> n.replaceAll("0x[0-9a-f]+", "T"))
                .collect(Collectors.toSet());
        assertTrue(names.containsAll(Set.of("running", "runnable", "asleep on token T")), names.toString());
        long asleep = trace.slices.stream().filter(s -> s.name().startsWith("asleep on token")).count();
        long waits = run.result().tasks().stream().mapToLong(RunResult.TaskResult::apfWaits).sum();
        assertEquals(waits, asleep, "one slice per task wait");
        // the CPU-bound task on vCPU 1 never waits
        assertTrue(trace.slicesOn("task cpu (cpu 1)").stream().noneMatch(s -> s.name().startsWith("asleep")));
    }

    @Test
    void everyPageReadyHasAFlowFromItsNotPresent() {
        long readies = trace.instantsNamed("kvm_async_pf_ready").size();
        assertEquals(run.result().counter("page_ready") - trace.instantsNamed("kvm_async_pf_ready (wake all)").size(),
                readies);
        assertEquals(readies, trace.flowEnds.size(), "a flow arrow per page ready");
        assertEquals(run.result().counter("async_pf_started"), trace.flowStarts.size(), "a flow start per not-present");
        for (JsonNode f : trace.flowEnds.values()) {
            JsonNode s = trace.flowStarts.get(f.get("id").asLong());
            assertEquals(s.get("tid"), f.get("tid"));
        }
        // flow ends sit on ready instants carrying the same token as the start's not-present
        assertEquals(run.result().counter("acks"), trace.instantsNamed("MSR_KVM_ASYNC_PF_ACK write").size());
    }

    @Test
    void hostWorkerSlicesRunFromNotPresentToCompleted() {
        List<TraceCheck.Slice> work = trace.slices.stream().filter(s -> s.pid() == PerfettoWriter.HOST_PID).toList();
        assertEquals(run.data().eventCounts().get("kvm_async_pf_completed"),
                work.stream().filter(s -> s.end() < run.result().simulatedNs() / 1e3).count(), "completed items");
        assertEquals(run.result().counter("async_pf_started"), work.size(), "one slice per item");
        assertTrue(work.stream().allMatch(s -> s.name().equals("async_pf_execute") && s.args().has("token")));
        // latencies are what the histogram saw: 1 ms median over 10 GbE
        double median = work.stream().mapToDouble(s -> s.end() - s.start()).sorted().skip(work.size() / 2)
                .findFirst().orElseThrow();
        assertTrue(median > 300 && median < 3000, "median work " + median + " us");
        assertFalse(trace.counters.isEmpty(), "outstanding-items counter");
    }

    /** Ctrl-C: the CLI's shutdown hook closes the writer while the run goes on; the file must stay valid. */
    @Test
    void closingMidRunLeavesValidTruncatedJson() throws Exception {
        Machine m = new Machine(Fixture.scenario());
        Path file = dir.resolve("cut.json");
        PerfettoWriter w = PerfettoWriter.open(file, m);
        m.attach(w);
        m.setSampler(s -> {
            if (s.timeNs() >= 100_000_000L) {
                w.close(); // from "another thread": events after this are dropped
            }
        }, 30);
        m.run();
        assertTrue(w.isClosed());
        TraceCheck cut = TraceCheck.read(file);
        double last = cut.events.stream().filter(e -> e.has("ts")).mapToDouble(e -> e.get("ts").asDouble()).max()
                .orElseThrow();
        assertTrue(last >= 100_000 && last < 120_000, "ends where it was closed: " + last);
        assertTrue(cut.flowEnds.size() > 10);
        w.close(); // idempotent
    }

    /** When the model reports guest and host time, the vCPU track shows exactly that instead of guessing. */
    @Test
    void preciseVcpuStatesReplaceTheGuess() throws Exception {
        TraceCheck c = synthetic(List.of(
                new VcpuState(0, 0, "host"),
                new VcpuState(1_000, 0, "guest"),
                new GuestSwitch(1_500, 0, -1, 0),
                new VcpuState(2_000, 0, "host"),
                new TryAsyncGetPage(2_100, 0, 0x5000, 5),
                new NotPresent(2_100, 0, 0x1000, 0x5000),
                new VcpuState(2_500, 0, "guest"),
                new GuestApfWait(2_600, 0, 0, 0x1000, false),
                new GuestSwitch(2_600, 0, 0, -1),
                new VcpuState(2_700, 0, "host"),
                new VcpuState(2_700, 0, "hlt"),
                new Completed(9_000, 0, 0x7f0000005000L, 0x5000, 0, 0),
                new VcpuState(9_100, 0, "host"),
                new Ready(9_200, 0, 0x1000, 0x5000),
                new VcpuState(9_300, 0, "guest"),
                new GuestApfWake(9_400, 0, 0, 0x1000),
                new GuestSwitch(9_500, 0, -1, 0)), 12_000);
        List<String> vcpu = c.slicesOn("vCPU 0").stream()
                .map(s -> s.name() + "@" + Math.round(s.start() * 1000) + "-" + Math.round(s.end() * 1000)).toList();
        assertEquals(List.of("host@0-1000", "guest@1000-2000", "host@2000-2500", "guest@2500-2700",
                "idle (hlt)@2700-9100", "host@9100-9300", "guest@9300-12000"), vcpu);
        List<String> task = c.slicesOn("task t (cpu 0)").stream()
                .map(s -> s.name() + "@" + Math.round(s.start() * 1000) + "-" + Math.round(s.end() * 1000)).toList();
        assertEquals(List.of("runnable@0-1500", "running@1500-2600", "asleep on token 0x1000@2600-9400",
                "runnable@9400-9500", "running@9500-12000"), task);
        List<TraceCheck.Slice> work = c.slicesOn("worker 0");
        assertEquals(1, work.size());
        assertEquals(2.1, work.getFirst().start(), 1e-9);
        assertEquals(9.0, work.getFirst().end(), 1e-9);
        assertEquals(1, c.flowEnds.size());
    }

    /** Without guest/host states (today's model), running time is shown as one state between blocked ones. */
    @Test
    void guessesRunningTimeFromActivityAfterABlock() throws Exception {
        TraceCheck c = synthetic(List.of(
                new SyncFault(1_000, 0, 7, "irqs_off"),
                new ApicAcceptIrq(1_500, 0, 0, 236), // an interrupt does not end a synchronous fault
                new GuestSwitch(3_000, 0, -1, 0),
                new VcpuState(4_000, 0, "apf_halt"),
                new Msr(6_000, 0, true, PerfettoWriter.MSR_ACK, 1, false),
                new Violation(6_500, -1, "token-unique", "token 0x1000 reused")), 8_000);
        List<String> vcpu = c.slicesOn("vCPU 0").stream()
                .map(s -> s.name() + "@" + Math.round(s.start() * 1000) + "-" + Math.round(s.end() * 1000)).toList();
        assertEquals(List.of("running (guest or host)@0-1000", "sync fault (blocked in GUP)@1000-3000",
                "running (guest or host)@3000-4000", "synthetic halt (apf)@4000-6000",
                "running (guest or host)@6000-8000"), vcpu);
        assertEquals(1, c.instantsNamed("MSR_KVM_ASYNC_PF_ACK write").size());
        JsonNode v = c.instantsNamed("apfsim_violation: token-unique").getFirst();
        assertEquals("g", v.get("s").asText(), "VM-wide violations are global instants");
    }

    @Test
    void tasksWokenByAWakeAllAndKilledTasks() throws Exception {
        TraceCheck c = synthetic(List.of(
                new GuestSwitch(100, 0, -1, 0),
                new GuestApfWait(200, 0, 0, 0x1000, false),
                new GuestSwitch(200, 0, 0, -1),
                new GuestSwitch(300, 0, -1, 1),
                new GuestApfWakeAll(400, 0, 1),
                new GuestTaskKilled(500, 0, 1, "SIGBUS", 0x5000)), 1_000, "a", "b");
        assertEquals(List.of("runnable", "running", "asleep on token 0x1000", "runnable"),
                c.slicesOn("task a (cpu 0)").stream().map(TraceCheck.Slice::name).toList());
        assertEquals(List.of("runnable", "running", "killed (SIGBUS)"),
                c.slicesOn("task b (cpu 0)").stream().map(TraceCheck.Slice::name).toList());
        assertEquals(1, c.instantsNamed("guest_apf_wake_all").size());
    }

    @Test
    void backingDeviceRequestsGetSlots() throws Exception {
        TraceCheck c = synthetic(List.of(
                new PageIo(100, -1, 5, false, false),
                new PageIo(150, -1, 6, false, false),
                new PageIo(300, -1, 5, true, false),
                new PageIo(350, -1, 7, false, false),
                new PageIo(400, -1, 6, true, true),
                new PageIo(500, -1, 7, true, false)), 1_000);
        assertEquals("backing device", c.processNames.get(PerfettoWriter.DEVICE_PID));
        assertEquals(2, c.slicesOn("request slot 0").size(), "slot 0 reused");
        assertEquals(1, c.slicesOn("request slot 1").size());
        assertEquals(1, c.instantsNamed("page read failed").size());
        JsonNode lastCounter = c.counters.getLast();
        assertEquals(0, lastCounter.get("args").get("in_flight").asInt());
    }

    /** --trace-window: what runs at the window's start starts there, what runs at its end ends there. */
    @Test
    void aWindowCutsSlicesAtItsEdges() throws Exception {
        Machine m = new Machine(Fixture.scenario());
        Path file = dir.resolve("window.json");
        var tasks = m.guest().tasks().stream().map(t -> new dev.apfsim.trace.TraceFilter.TaskRef(t.name, t.cpu))
                .toList();
        PerfettoWriter w = PerfettoWriter.open(file, m, dev.apfsim.trace.TraceFilter.Selection.ALL
                .withWindow(100_000_000L, 150_000_000L).withVcpus(List.of(1)).filter(2, tasks));
        m.attach(w);
        m.run();
        w.close();
        TraceCheck c = TraceCheck.read(file);
        assertFalse(c.threadNames.containsValue("vCPU 0"), "vCPU 0 filtered out");
        assertFalse(c.threadNames.containsValue("task app-0 (cpu 0)"), "a task of vCPU 0 filtered out");
        List<TraceCheck.Slice> s = c.slicesOn("vCPU 1");
        assertEquals(100_000.0, s.getFirst().start(), 1e-9, "from the window's start");
        assertEquals(150_000.0, s.getLast().end(), 1e-9, "to its end");
        for (int i = 1; i < s.size(); i++) {
            assertEquals(s.get(i - 1).end(), s.get(i).start(), 1e-9, "states tile the window");
        }
        assertTrue(c.events.stream().filter(e -> e.has("ts")).allMatch(e -> e.get("ts").asDouble() >= 100_000
                && e.get("ts").asDouble() <= 150_000), "nothing outside the window");
        assertTrue(c.instants.stream().allMatch(i -> i.get("s").asText().equals("g")
                || i.get("args").get("vcpu").asInt() == 1), "instants of vCPU 1 only");
        assertFalse(c.slicesOn("task cpu (cpu 1)").isEmpty());
    }

    @Test
    void emptyTraceIsValidJson() throws Exception {
        TraceCheck c = synthetic(List.of(), 0);
        assertEquals("vCPU 0", c.threadNames.get(List.of(PerfettoWriter.VM_PID, 1001)));
    }

    @Test
    void timestampsAreMicrosecondsWithNanosecondDigits() {
        assertEquals("1234.567", Json.micros(new StringBuilder(), 1_234_567).toString());
        assertEquals("0.005", Json.micros(new StringBuilder(), 5).toString());
        assertEquals("12.050", Json.micros(new StringBuilder(), 12_050).toString());
    }

    private static TraceCheck synthetic(List<TraceEvent> events, long end, String... tasks) throws Exception {
        List<String> names = tasks.length == 0 ? List.of("t (cpu 0)")
                : List.of(tasks).stream().map(t -> t + " (cpu 0)").toList();
        StringWriter out = new StringWriter();
        PerfettoWriter w = new PerfettoWriter("test", out, new PerfettoWriter.Meta("test", 1, names, () -> end));
        events.forEach(w::accept);
        w.close();
        Path f = Files.createTempFile(dir, "synthetic", ".json");
        Files.writeString(f, out.toString());
        return TraceCheck.read(f);
    }
}
