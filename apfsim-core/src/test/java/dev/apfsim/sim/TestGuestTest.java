package dev.apfsim.sim;

import dev.apfsim.guest.Task;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioException;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.scenario.ScenarioWriter;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test guests ({@code guest.kind: test}): a guest described by its handlers, run against the KVM model. */
class TestGuestTest {
    private static final int ACK = 0x4b564d07;
    private static final int EN = 0x4b564d02;

    /** A one-vCPU test guest with a remote page at 0x200000 served after 5 ms; {@code test} and {@code steps} vary. */
    private static Scenario guest(String test, String start, String steps) {
        return ScenarioLoader.load("t.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                duration: 100ms
                host: {remote: {latency: 5ms}}
                memory: {regions: [{start: 0x200000, size: 64KiB, state: remote}]}
                guest: {kind: test, test: %s}
                workload:
                  tasks:
                    - {type: script, name: main, start: %s, steps: %s}
                """.formatted(test, start, steps));
    }

    private static List<String> docExamples() throws IOException {
        Path doc = Path.of("../docs/scenarios.md");
        String text = Files.readString(doc);
        Matcher m = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(text);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            if (m.group(1).contains("kind: test")) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    @Test
    void theTwoTestGuestExamplesInTheDocsRunAsWritten() throws IOException {
        List<String> examples = docExamples();
        assertEquals(2, examples.size());
        for (String yaml : examples) {
            SimRun r = SimRun.of(ScenarioLoader.load("doc.yaml", yaml));
            assertEquals("ok", r.outcome(), r.dump());
            assertTrue(r.all(TraceEvent.GuestPanic.class).isEmpty());
            for (Task t : r.machine.guest().tasks()) {
                assertEquals(Task.State.DONE, t.state(), t.name);
            }
        }
    }

    /**
     * {@code kvm_can_deliver_async_pf}: with SEND_ALWAYS a CPL0 fault is delivered as #PF; the test guest's
     * handler spins with IF=1 until page-ready for its token and does not panic (only Linux does).
     */
    @Test
    void kvmCanDeliverAsyncPf_sendAlwaysDeliversTheCpl0FaultAndTheSpinningHandlerDoesNotPanic() throws IOException {
        SimRun r = SimRun.of(ScenarioLoader.load("doc.yaml", docExamples().getFirst()));
        assertTrue(r.all(TraceEvent.GuestPanic.class).isEmpty());
        int notPresent = r.indexOf(e -> e instanceof TraceEvent.NotPresent);
        int pf = r.indexOf(notPresent, e -> e instanceof TraceEvent.InjException x && x.vector() == 14);
        int ready = r.indexOf(pf, e -> e instanceof TraceEvent.Ready x && x.token() == 0x1000);
        int ack = r.indexOf(ready, e -> e instanceof TraceEvent.Msr m && m.msr() == ACK);
        int out = r.indexOf(ack, e -> e instanceof TraceEvent.Pio);
        assertTrue(notPresent >= 0 && pf > notPresent && ready > pf && ack > ready && out > ack, r.dump());
        assertTrue(r.all(TraceEvent.ApfHalt.class).isEmpty());
    }

    /** {@code kvm_can_deliver_async_pf}: without SEND_ALWAYS a CPL0 fault is not injected: the synthetic halt. */
    @Test
    void kvmCanDeliverAsyncPf_withoutSendAlwaysTheCpl0FaultTakesTheSyntheticHalt() {
        SimRun r = SimRun.of(guest("{on_not_present: spin}", "{cpl: 0, if: 0}",
                "[enable_apf: 0x9, sti, touch: 0x200000]"));
        assertFalse(r.all(TraceEvent.ApfHalt.class).isEmpty(), r.dump());
        assertTrue(r.where(e -> e instanceof TraceEvent.InjException x && x.vector() == 14).isEmpty());
        assertEquals(Task.State.DONE, r.task(0).state());
    }

    /** A test guest's kernel never writes the APF MSRs: only its script does. */
    @Test
    void aTestGuestKernelDoesNotEnableAsyncPfByItself() {
        SimRun r = SimRun.of(guest("{}", "{cpl: 3, if: 1}", "[touch: 0x200000]"));
        assertTrue(r.where(e -> e instanceof TraceEvent.Msr).isEmpty(), r.dump());
        assertTrue(r.where(e -> e instanceof TraceEvent.InjException).isEmpty()); // APF off: the synthetic halt
        assertFalse(r.all(TraceEvent.ApfHalt.class).isEmpty(), r.dump());
    }

    /**
     * {@code kvm_arch_interrupt_allowed}: the wake-all page-ready of the first enable waits while the guest runs
     * with IF=0 from its start state, and is taken right after the instruction that follows {@code sti}, before
     * the touch.
     */
    @Test
    void kvmArchInterruptAllowed_aPageReadyHeldUnderIfZeroIsTakenOneInstructionAfterSti() {
        SimRun r = SimRun.of(guest("{}", "{cpl: 0, if: 0}",
                "[enable_apf: 0xb, compute: 100us, sti, touch: 0x200000]"));
        TraceEvent.Msr ack = r.where(e -> e instanceof TraceEvent.Msr m && m.msr() == ACK).stream()
                .map(TraceEvent.Msr.class::cast).findFirst().orElseThrow();
        assertTrue(ack.time() >= 100_000, r.dump());
        int ackAt = r.events.indexOf(ack);
        int notPresent = r.indexOf(e -> e instanceof TraceEvent.NotPresent);
        assertTrue(ackAt < notPresent, r.dump());
    }

    /**
     * {@code kvm_arch_async_page_present_queued}: while {@code pageready_pending} is set (no ACK yet) the completion
     * makes KVM_REQ_APF_READY but does not kick. The kworker that completes runs on the vCPU thread's own CPU
     * ({@code schedule_work} → per-CPU {@code system_wq}), so its wake-up is a VM exit anyway, and the next
     * {@code vcpu_enter_guest} delivers the page-ready (the token slot is free: the handler zeroed it). With no
     * kick and no exit the page-ready would wait; on one CPU it does not.
     */
    @Test
    void kvmArchAsyncPagePresentQueued_noKickWithoutAck_butTheKworkersExitDeliversPageReady() {
        SimRun r = SimRun.of(guest("{page_ready: [read_token, zero_token, eoi]}", "{cpl: 0, if: 0}",
                "[enable_apf: 0xb, sti, touch: 0x200000]"));
        assertEquals(2, r.pageReadyIrqs().size(), r.dump()); // the wake-all, then the fault's
        TraceEvent.Completed done = r.all(TraceEvent.Completed.class).getFirst();
        assertTrue(r.pageReadyIrqs().get(1).time() - done.time() < 5_000, r.dump());
        assertTrue(r.msrs(ACK).isEmpty(), "the handler never ACKs");
    }

    /**
     * {@code kvm_arch_can_dequeue_async_page_present}: the next page-ready waits for a free slot (token zeroed by the
     * guest); the ACK only decides whether the vCPU is kicked ({@code kvm_arch_async_page_present_queued}), so a guest
     * that zeroes the token but never ACKs still gets the next page-ready at the vCPU's next entry (here: when the
     * kworker that completed the page preempts the vCPU thread on its host CPU).
     */
    @Test
    void kvmArchCanDequeueAsyncPagePresent_theSlotNotTheAckGatesTheNextPageReady() {
        SimRun busy = SimRun.of(guest("{page_ready: [read_token, eoi, ack]}", "{cpl: 0, if: 0}",
                "[enable_apf: 0xb, sti, touch: 0x200000]"));
        assertEquals(1, busy.pageReadyIrqs().size(), busy.dump()); // the wake-all only: its token stays in the slot
        assertNotEquals(Task.State.DONE, busy.task(0).state()); // still spinning on its token
        SimRun noAck = SimRun.of(guest("{page_ready: [read_token, zero_token, eoi]}", "{cpl: 0, if: 0}",
                "[enable_apf: 0xb, sti, touch: 0x200000]"));
        assertEquals(2, noAck.pageReadyIrqs().size(), noAck.dump());
        assertEquals(Task.State.DONE, noAck.task(0).state());
        SimRun acked = SimRun.of(guest("{page_ready: [read_token, zero_token, eoi, ack]}", "{cpl: 0, if: 0}",
                "[enable_apf: 0xb, sti, touch: 0x200000]"));
        assertEquals(2, acked.pageReadyIrqs().size(), acked.dump());
        assertEquals(Task.State.DONE, acked.task(0).state());
    }

    /** {@code on_not_present: panic} stops the guest as Linux ≥ 5.9's {@code __kvm_handle_async_pf} does in kernel mode. */
    @Test
    void onNotPresentPanicStopsTheGuest() {
        SimRun r = SimRun.of(guest("{on_not_present: panic}", "{cpl: 0, if: 0}",
                "[enable_apf: 0xb, sti, touch: 0x200000]"));
        assertEquals(1, r.all(TraceEvent.GuestPanic.class).size(), r.dump());
    }

    /** {@code on_not_present: sleep} is Linux's {@code kvm_async_pf_task_wait_schedule}: the task sleeps on the token. */
    @Test
    void onNotPresentSleepSleepsTheTaskOnTheToken() {
        SimRun r = SimRun.of(guest("{on_not_present: sleep}", "{cpl: 3, if: 1}",
                "[cpl: 0, cli, enable_apf: 0x9, sti, cpl: 3, touch: 0x200000]"));
        List<TraceEvent.GuestApfWait> waits = r.all(TraceEvent.GuestApfWait.class);
        assertEquals(1, waits.size(), r.dump());
        assertEquals(0x1000, waits.getFirst().token());
        assertFalse(r.all(TraceEvent.GuestApfWake.class).isEmpty());
        assertEquals(Task.State.DONE, r.task(0).state());
    }

    /** {@code kvm_async_pf_repeated_fault}: a handler that returns at once retries into the outstanding gfn. */
    @Test
    void kvmAsyncPfRepeatedFault_aHandlerThatReturnsRetriesIntoTheOutstandingGfn() {
        SimRun r = SimRun.of(guest("{on_not_present: return}", "{cpl: 0, if: 0}",
                "[enable_apf: 0x9, sti, cpl: 3, touch: 0x200000]"));
        assertFalse(r.all(TraceEvent.RepeatedFault.class).isEmpty(), r.dump());
        assertEquals(Task.State.DONE, r.task(0).state());
    }

    /** {@code handle_io}: an {@code out} is a KVM_EXIT_IO round trip costing vm_exit + pio_exit + vm_entry. */
    @Test
    void handleIo_outIsAKvmExitIoRoundTripWithItsCost() {
        Scenario s = ScenarioLoader.load("t.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                host: {costs: {vm_exit: 1us, pio_exit: 9us, vm_entry: 500ns}}
                guest: {kind: test}
                workload:
                  tasks:
                    - {type: script, name: main, steps: [out: {port: 0xf4, value: 7}, out: {port: 0xf4, value: 8}, in: 0xf5]}
                """);
        List<TraceEvent.Pio> pio = SimRun.of(s).all(TraceEvent.Pio.class);
        assertEquals(3, pio.size());
        assertEquals(7, pio.get(0).val());
        assertTrue(pio.get(0).write() && !pio.get(2).write());
        assertEquals(10_500, pio.get(1).time() - pio.get(0).time());
        assertEquals(10_500, pio.get(2).time() - pio.get(1).time());
        assertEquals("kvm_pio: pio_write at 0xf4 size 4 count 1 val 0x7 ", dev.apfsim.trace.FtraceFormat.line(pio.get(0))
                .replaceAll(".*: (kvm_pio: )", "$1"));
    }

    /**
     * The {@code appc-*} built-ins are the real experiment's guest: it enables with its own WRMSRs (INT first, then
     * EN), and its CPL0 fault is a #PF with SEND_ALWAYS ({@code kvm_can_deliver_async_pf}) that it survives, but
     * the synthetic halt without ({@code appc-kernel-mode}).
     */
    @Test
    void kvmCanDeliverAsyncPf_theAppcBuiltinsBehaveAsTheRealExperimentsGuest() {
        SimRun always = SimRun.of(dev.apfsim.scenario.BuiltinScenarios.load("appc-kernel-send-always"));
        List<TraceEvent.Msr> msrs = always.all(TraceEvent.Msr.class);
        assertEquals(0x4b564d06, msrs.get(0).msr());
        assertEquals(EN, msrs.get(1).msr());
        assertEquals(0x500b, msrs.get(1).data());
        assertFalse(always.where(e -> e instanceof TraceEvent.InjException x && x.vector() == 14).isEmpty());
        assertTrue(always.all(TraceEvent.GuestPanic.class).isEmpty());
        assertEquals(Task.State.DONE, always.task(0).state());
        SimRun userOnly = SimRun.of(dev.apfsim.scenario.BuiltinScenarios.load("appc-kernel-mode"));
        assertTrue(userOnly.where(e -> e instanceof TraceEvent.InjException).isEmpty(), userOnly.dump());
        assertFalse(userOnly.all(TraceEvent.ApfHalt.class).isEmpty());
    }

    @Test
    void aTestGuestScenarioWritesAndReadsBack() throws IOException {
        for (String yaml : docExamples()) {
            Scenario s = ScenarioLoader.load("doc.yaml", yaml);
            assertEquals(s, ScenarioLoader.load("w.yaml", ScenarioWriter.toYaml(s)));
        }
    }

    private static ScenarioException bad(String guest, String task) {
        return assertThrows(ScenarioException.class, () -> ScenarioLoader.load("bad.yaml", """
                vm: {vcpus: 1, memory: 64MiB}
                %s
                workload:
                  tasks:
                    - %s
                """.formatted(guest, task)));
    }

    @Test
    void badTestGuestFieldsAreErrorsAtTheirLineAndColumn() {
        String ok = "{type: script, name: m, steps: [sti]}";
        ScenarioException e = bad("guest: {kind: test, test: {page_ready: [ack, eoi, ack]}}", ok);
        assertTrue(e.getMessage().startsWith("bad.yaml:2:"), e.getMessage());
        assertTrue(e.getMessage().contains("guest.test.page_ready[2]"), e.getMessage());
        e = bad("guest: {kind: test, apf: linux}", ok);
        assertTrue(e.getMessage().contains("field guest.apf: a test guest has no apf"), e.getMessage());
        e = bad("guest: {test: {vector: 0xec}}", ok);
        assertTrue(e.getMessage().contains("need kind: test"), e.getMessage());
        e = bad("guest: {kind: test, test: {apf_area: 0x5004}}", ok);
        assertTrue(e.getMessage().contains("guest.test.apf_area"), e.getMessage());
        e = bad("host: {arch: arm64}\nguest: {kind: test}", ok);
        assertTrue(e.getMessage().contains("test guests are x86 guests"), e.getMessage());
        e = bad("guest: {kind: test}", "{type: script, name: m, start: {cpl: 1}}");
        assertEquals(5, e.line(), e.getMessage());
        assertTrue(e.getMessage().contains("expected a CPL of 0 (kernel) or 3 (user), got 1"), e.getMessage());
        e = bad("guest: {kind: test}", "{type: script, name: m, steps: [out: {value: 1}]}");
        assertTrue(e.getMessage().contains("out.port: missing required field"), e.getMessage());
        e = bad("guest: {kind: test}", "{type: script, name: m, start: {if: 2}}");
        assertTrue(e.getMessage().contains("expected 0 or 1"), e.getMessage());
    }
}
