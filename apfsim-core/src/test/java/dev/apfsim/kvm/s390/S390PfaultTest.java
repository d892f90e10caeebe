package dev.apfsim.kvm.s390;

import dev.apfsim.arch.s390.S390Pfault;
import dev.apfsim.metrics.Counter;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The built-in {@code s390-pfault} scenario: the pfault handshake of {@code arch/s390/kvm} and the Linux guest. */
class S390PfaultTest {
    record Run(Machine machine, RunResult result, List<TraceEvent> events) {
        /** The events of the pfault handshake, as short words, in trace order. */
        List<String> handshake() {
            List<String> out = new ArrayList<>();
            for (TraceEvent e : events) {
                switch (e) {
                    case TraceEvent.S390MajorGuestPfault m -> out.add("major");
                    case TraceEvent.S390PfaultInit i -> out.add("init");
                    case TraceEvent.S390PfaultDone d -> out.add("done");
                    case TraceEvent.Completed c -> out.add("completed");
                    case TraceEvent.GuestApfWait w -> out.add(w.dummyConsumed() ? "wait-done-first" : "sleep");
                    case TraceEvent.GuestApfWake w -> out.add(w.task() < 0 ? "done-before-init" : "woken");
                    case TraceEvent.SyncFault s -> out.add("sync:" + s.reason());
                    default -> {
                    }
                }
            }
            return out;
        }
    }

    static Run run(String variant) {
        Scenario s = BuiltinScenarios.load("s390-pfault", BuiltinScenarios.variants("s390-pfault").get(variant));
        Machine m = new Machine(s);
        List<TraceEvent> events = new ArrayList<>();
        m.attach(events::add);
        RunResult r = m.run();
        return new Run(m, r, events);
    }

    @Test
    void initPutsTheTaskToSleepAndDoneWakesIt() {
        Run r = run("linux");
        // reader's first page: init → sleep → done (sent by the worker) → completed → woken; then syscall's
        // kernel-mode and IRQ-off touches are synchronous and its enabled user touch goes async like the reader's
        // other two pages
        assertEquals(List.of(
                "major", "init", "sleep", "done", "completed", "woken",
                "major", "sync:sync_faults_kernel_mode",
                "major", "sync:sync_faults_irqs_off",
                "major", "init", "sleep", "done", "completed", "woken",
                "major", "init", "sleep", "done", "completed", "woken",
                "major", "init", "sleep", "done", "completed", "woken"), r.handshake());
        assertEquals("ok", r.result().outcome().kind());
        assertEquals(0, r.result().violations().size(), r.result().violations().toString());
        assertEquals(4, r.result().counter(Counter.NOT_PRESENT_INJECTED.key()));
        assertEquals(0, r.result().counter(Counter.PREFAULTS.key()), "s390 never prefaults");
        for (RunResult.TaskResult t : r.result().tasks()) {
            assertEquals("done", t.state(), t.name());
        }
    }

    @Test
    void doneBeforeInitLeavesTheTaskRunning() {
        Run r = run("done-first");
        List<String> h = r.handshake();
        // the vCPU re-enters 500 us after the fault: the page is in before PFAULT_INIT is delivered, the other
        // (idle) vCPU takes the floating PFAULT_DONE and sets pfault_wait = -1, and the init then does not sleep
        assertEquals(List.of("major", "init", "done", "completed", "done-before-init", "wait-done-first"),
                h.subList(0, 6));
        assertTrue(!h.contains("sleep"), h.toString());
        TraceEvent wake = r.events().stream().filter(e -> e instanceof TraceEvent.GuestApfWake).findFirst()
                .orElseThrow();
        assertEquals(1, wake.vcpu(), "PFAULT_DONE is floating: the idle vCPU took it");
        assertEquals("done", r.result().tasks().getFirst().state());
    }

    @Test
    void withoutATokenEveryFaultIsSynchronous() {
        Run r = run("nopfault");
        assertTrue(r.handshake().stream().noneMatch(w -> w.equals("init")), r.handshake().toString());
        assertTrue(r.handshake().contains("sync:sync_faults_apf_not_enabled"), r.handshake().toString());
        assertEquals(S390Pfault.PFAULT_TOKEN_INVALID, r.machine().s390Vcpus().getFirst().pfaultToken());
    }

    /** kvm_arch_setup_async_pf's conditions, one at a time, on a booted vCPU. */
    @Test
    void setupConditions() {
        Scenario s = BuiltinScenarios.load("s390-pfault");
        Machine m = new Machine(s);
        m.start();
        m.simulator().run(3_000); // booted: DIAG 0x258 done, the reader asleep on its first page
        S390Vcpu v = m.s390Vcpus().getFirst();
        assertEquals(0x9000, v.pfaultToken(), "DIAG 0x258 registered this CPU's lowcore LPP word");
        v.cpu.cpl = 3;
        v.cpu.interruptFlag = true;
        v.cpu.interruptShadow = false;
        assertNull(v.cannotSetupAsyncPf());
        v.cpu.cpl = 0;
        assertEquals(Counter.SYNC_KERNEL_MODE, v.cannotSetupAsyncPf(), "PSW & pfault_select != pfault_compare");
        v.cpu.cpl = 3;
        v.cpu.interruptFlag = false;
        assertEquals(Counter.SYNC_IRQS_OFF, v.cannotSetupAsyncPf(), "psw_extint_disabled");
        v.cpu.interruptFlag = true;
        v.cpu.cr0ServiceSignal = false;
        assertEquals(Counter.SYNC_APF_NOT_ENABLED, v.cannotSetupAsyncPf(), "CR0 bit 9 off");
        v.cpu.cr0ServiceSignal = true;
        v.injectLocal(0xec);
        assertEquals(Counter.SYNC_EVENT_PENDING, v.cannotSetupAsyncPf(), "kvm_s390_vcpu_has_irq");
    }
}
