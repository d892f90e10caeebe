package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.kvm.KvmVcpu;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceEvent.ApfHalt;
import dev.apfsim.trace.TraceEvent.ApicAcceptIrq;
import dev.apfsim.trace.TraceEvent.Completed;
import dev.apfsim.trace.TraceEvent.GuestApfWait;
import dev.apfsim.trace.TraceEvent.GuestApfWake;
import dev.apfsim.trace.TraceEvent.InjException;
import dev.apfsim.trace.TraceEvent.Msr;
import dev.apfsim.trace.TraceEvent.NotPresent;
import dev.apfsim.trace.TraceEvent.Ready;
import dev.apfsim.trace.TraceEvent.SyncFault;
import dev.apfsim.trace.TraceEvent.TryAsyncGetPage;
import dev.apfsim.trace.TraceEvent.UserspaceExit;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.apfsim.sim.SimRun.WAKE_ALL;
import static dev.apfsim.sim.TestScenarios.MS;
import static dev.apfsim.sim.TestScenarios.US;
import static dev.apfsim.sim.TestScenarios.area;
import static dev.apfsim.sim.TestScenarios.builder;
import static dev.apfsim.sim.TestScenarios.guest;
import static dev.apfsim.sim.TestScenarios.kernel;
import static dev.apfsim.sim.TestScenarios.touch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/real-host.md: what a small VMM saw on a real host (6.18, one vCPU, guest memory behind userfaultfd
 * answering after 50 ms), as scripted scenarios with their expected event sequences. Events are compared as
 * the kernel prints them ({@link FtraceFormat}), without the timestamp prefix.
 */
class AppendixCTest {
    static final long X = 0x300000;
    static final long Y = 0x301000;
    static final long Z = 0x302000;
    static final int VEC = ApfMsr.HYPERVISOR_CALLBACK_VECTOR;

    /**
     * One vCPU, guest pages behind a userfault handler that answers after 50 ms. The guest runs tickless so
     * that nothing but the events under test ends a synthetic halt (a tick would add a retry: try,
     * repeated_fault, halt; see ReferenceBehaviourTest.b16).
     */
    static TestScenarios.Builder uffd() {
        return builder().remote(X, 0x100000).remoteLatency(50 * MS).duration(1_000 * MS)
                .guest(TestScenarios.withTick(GuestConfig.defaults(), 3 * MS, 0));
    }

    /** "name: fields" exactly as TP_printk prints them. */
    static String body(TraceEvent e) {
        String line = FtraceFormat.line(e);
        return line.substring(line.indexOf(e.name()));
    }

    /** The async PF tracepoints plus the events that show delivery: #PF, page-ready IRQ, halt, sync, exit. */
    static boolean shown(TraceEvent e) {
        return SimRun.isApfTracepoint(e) || e instanceof InjException || e instanceof ApfHalt
                || e instanceof SyncFault || e instanceof UserspaceExit
                || (e instanceof ApicAcceptIrq a && a.vector() == VEC);
    }

    static List<String> seq(SimRun r) {
        return r.events.stream().filter(AppendixCTest::shown).map(AppendixCTest::body).toList();
    }

    static List<String> names(SimRun r) {
        return r.events.stream().filter(AppendixCTest::shown).map(TraceEvent::name).toList();
    }

    static final String WAKE_ALL_READY = "kvm_async_pf_ready: token 0xffffffff gva 0x0";
    static final String IRQ = "kvm_apic_accept_irq: apicid 0 vec 243 (Fixed|edge)";
    static final String PF = "kvm_inj_exception: #PF (0x0)";

    static List<String> userFault(long token, long gva) {
        String g = FtraceFormat.hex(gva);
        String t = FtraceFormat.hex(token);
        return List.of("kvm_try_async_get_page: gva = " + g + ", gfn = " + FtraceFormat.hex(gva >>> 12),
                "kvm_async_pf_not_present: token " + t + " gva " + g,
                PF,
                "kvm_async_pf_completed: gva " + g + " address " + FtraceFormat.hex(0x7f0000000000L + gva),
                "kvm_async_pf_ready: token " + t + " gva " + g,
                IRQ);
    }

    @Test
    void c1_firstEnableWakeAllThenTokens() {
        SimRun r = SimRun.of(uffd().task("t", 0, touch(X), touch(Y), touch(Z)).build());
        List<String> expected = new ArrayList<>();
        expected.add(WAKE_ALL_READY);
        expected.add(IRQ);
        expected.addAll(userFault(0x1000, X));
        expected.addAll(userFault(0x2000, Y));
        expected.addAll(userFault(0x3000, Z));
        assertEquals(expected, seq(r), r.dump());
        // "followed at once": the wake-all is consumed at the entry right after the enabling write
        Msr en = r.msrs(ApfMsr.MSR_KVM_ASYNC_PF_EN).getFirst();
        Ready wakeAll = r.first(Ready.class);
        assertTrue(wakeAll.time() - en.time() < 10 * US);
        assertEquals(List.of(0x1000L, 0x2000L, 0x3000L),
                r.all(GuestApfWait.class).stream().map(GuestApfWait::token).toList(), "the CR2 the guest saw");
        assertEquals("ok", r.outcome());
        assertEquals(3, r.task(0).ops());
    }

    @Test
    void c2_deliveryDependsOnCplAndSendAlways() {
        long linuxSendAlways = ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_SEND_ALWAYS
                | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT;
        for (boolean sendAlways : new boolean[]{false, true}) {
            GuestConfig g = TestScenarios.withTick(sendAlways ? guest(GuestConfig.ApfMode.CUSTOM, linuxSendAlways)
                    : GuestConfig.defaults(), 3 * MS, 0);
            // user mode (CPL3): #PF with error code 0, CR2 = token, flags = 1, either way
            List<Integer> flags = new ArrayList<>();
            SimRun user = SimRun.of(uffd().guest(g).task("t", 0, touch(X)).build(), (m, e) -> {
                if (e instanceof InjException) {
                    flags.add(m.ram().read32(area(0) + ApfMsr.OFFSET_FLAGS));
                }
            });
            List<String> expected = new ArrayList<>(List.of(WAKE_ALL_READY, IRQ));
            expected.addAll(userFault(0x1000, X));
            assertEquals(expected, seq(user), "SEND_ALWAYS=" + sendAlways + "\n" + user.dump());
            assertEquals(List.of(1), flags);
            assertEquals(0x1000, user.first(GuestApfWait.class).token());
            assertEquals("ok", user.outcome());

            // kernel mode (CPL0)
            SimRun kern = SimRun.of(uffd().guest(g).task("t", 0, kernel(true), touch(X), kernel(false)).build());
            if (sendAlways) {
                // delivered as #PF; a Linux guest cannot take it in kernel mode and panics (conformance behaviour 35)
                assertEquals(List.of(WAKE_ALL_READY, IRQ,
                        "kvm_try_async_get_page: gva = 0x300000, gfn = 0x300",
                        "kvm_async_pf_not_present: token 0x1000 gva 0x300000", PF), seq(kern), kern.dump());
                assertEquals("guest_panic", kern.outcome());
            } else {
                // synthetic halt; the completion produces kvm_async_pf_ready without any interrupt
                assertEquals(List.of(WAKE_ALL_READY, IRQ,
                        "kvm_try_async_get_page: gva = 0x300000, gfn = 0x300",
                        "kvm_async_pf_not_present: token 0x1000 gva 0x300000",
                        "apfsim_apf_halt: gfn 0xffffffffffffffff",
                        "kvm_async_pf_completed: gva 0x300000 address 0x7f0000300000",
                        "kvm_async_pf_ready: token 0x1000 gva 0x300000"), seq(kern), kern.dump());
                assertEquals("ok", kern.outcome());
                assertTrue(kern.result.vcpus().getFirst().timeNs().get("synthetic_halt") >= 49 * MS);
            }
        }
    }

    @Test
    void c3_interruptsOffBlocksTheVcpuThread() {
        List<KvmVcpu.RunState> atSync = new ArrayList<>();
        SimRun r = SimRun.of(uffd().task("t", 0, Action.CLI, touch(X), Action.STI).build(), (m, e) -> {
            if (e instanceof SyncFault) {
                atSync.add(m.x86Vcpus().get(0).runState());
            }
        });
        assertEquals(List.of(WAKE_ALL_READY, IRQ, "apfsim_sync_fault: gfn 0x300 reason sync_faults_irqs_off"),
                seq(r), r.dump());
        assertTrue(r.all(TryAsyncGetPage.class).isEmpty(), "no kvm_try_async_get_page");
        assertEquals(List.of(KvmVcpu.RunState.SYNC_WAIT), atSync, "the vCPU thread itself waits");
        assertEquals(0, r.counter("synthetic_halts"), "not a synthetic halt");
        long blocked = r.result.vcpus().getFirst().timeNs().get("sync_blocked");
        assertTrue(blocked >= 50 * MS && blocked < 51 * MS, "blocked for the page: " + blocked);
        assertEquals("ok", r.outcome());
    }

    @Test
    void c4_enableWithoutDeliveryAsIntGetsNothing() {
        // (with the guest's periodic tick on, as a real guest has)
        for (GuestConfig g : List.of(guest(GuestConfig.ApfMode.CUSTOM, ApfMsr.KVM_ASYNC_PF_ENABLED),
                guest(GuestConfig.ApfMode.CUSTOM, ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_SEND_ALWAYS),
                guest(GuestConfig.ApfMode.NEVER, 0))) {
            SimRun r = SimRun.of(uffd().guest(g).task("t", 0, touch(X)).build());
            assertTrue(r.msrs(ApfMsr.MSR_KVM_ASYNC_PF_EN).stream().noneMatch(Msr::gp), "accepted");
            // async in the host all the same, through the synthetic halt; the timer ticks that end the halt
            // meanwhile make the guest retry into the outstanding gfn (try, repeated, halt again)
            List<String> q = seq(r);
            String tryX = "kvm_try_async_get_page: gva = 0x300000, gfn = 0x300";
            String halt = "apfsim_apf_halt: gfn 0xffffffffffffffff";
            assertEquals(List.of(tryX, "kvm_async_pf_not_present: token 0x1000 gva 0x300000", halt),
                    q.subList(0, 3), g + "\n" + r.dump());
            assertEquals(List.of("kvm_async_pf_completed: gva 0x300000 address 0x7f0000300000",
                    "kvm_async_pf_ready: token 0x1000 gva 0x300000"), q.subList(q.size() - 2, q.size()));
            List<String> middle = q.subList(3, q.size() - 2);
            assertEquals(0, middle.size() % 3);
            for (int i = 0; i < middle.size(); i += 3) {
                assertEquals(List.of(tryX, "kvm_async_pf_repeated_fault: gva = 0x300000, gfn = 0x300", halt),
                        middle.subList(i, i + 3));
            }
            assertFalse(r.readyTokens().contains(WAKE_ALL), "not even the wake-all");
            assertTrue(r.pageReadyIrqs().isEmpty());
            assertTrue(r.all(InjException.class).isEmpty());
            assertEquals(1, r.all(NotPresent.class).size());
            assertEquals("ok", r.outcome());
        }
    }

    @Test
    void c5_handlerReturningWithoutWaitingHitsTheRepeatedFault() {
        GuestConfig g = TestScenarios.withTick(TestScenarios.withPfHandler(GuestConfig.defaults(),
                GuestConfig.PfHandler.RETURN_WITHOUT_WAIT), 3 * MS, 0);
        SimRun r = SimRun.of(uffd().guest(g).task("t", 0, touch(X)).build());
        assertEquals(List.of(WAKE_ALL_READY, IRQ,
                "kvm_try_async_get_page: gva = 0x300000, gfn = 0x300",
                "kvm_async_pf_not_present: token 0x1000 gva 0x300000",
                PF,
                "kvm_try_async_get_page: gva = 0x300000, gfn = 0x300",
                "kvm_async_pf_repeated_fault: gva = 0x300000, gfn = 0x300",
                "apfsim_apf_halt: gfn 0xffffffffffffffff",
                "kvm_async_pf_completed: gva 0x300000 address 0x7f0000300000",
                "kvm_async_pf_ready: token 0x1000 gva 0x300000",
                IRQ), seq(r).subList(0, 11), r.dump());
        assertTrue(r.result.vcpus().getFirst().timeNs().get("synthetic_halt") >= 49 * MS, "halted until ready");
        assertEquals(1, r.task(0).ops());
        assertEquals("ok", r.outcome());
    }

    @Test
    void c6_workerTakesTheSlowFault() {
        List<KvmVcpu.RunState> vcpuWhileWaiting = new ArrayList<>();
        SimRun r = SimRun.of(uffd().task("t", 0, touch(X)).build(), m -> {
            m.start();
            m.simulator().run(25 * MS); // halfway through the 50 ms the page takes
            vcpuWhileWaiting.add(m.x86Vcpus().get(0).runState());
        }, (m, e) -> {
        });
        NotPresent np = r.first(NotPresent.class);
        Completed c = r.first(Completed.class);
        assertEquals(TraceEvent.Actor.WORKER, c.actor());
        assertTrue(FtraceFormat.line(c).startsWith("kworker/"), FtraceFormat.line(c));
        assertTrue(r.all(SyncFault.class).isEmpty(), "the vCPU thread never blocks in the fault");
        assertEquals(List.of(KvmVcpu.RunState.BLOCKED), vcpuWhileWaiting, "the vCPU idles in guest HLT meanwhile");
        // the page is supplied 50 ms after the worker asked for it; GUP returns at that moment
        long supplied = np.time() + HostCosts.defaults().workerDispatchNs() + 50 * MS;
        assertEquals(supplied, c.time());
        GuestApfWake wake = r.all(GuestApfWake.class).stream().filter(w -> w.token() == 0x1000).findFirst()
                .orElseThrow();
        long lag = wake.time() - supplied;
        assertTrue(lag > 0 && lag <= 300 * US, "page-ready reaches the guest shortly after the page: " + lag);
    }

    @Test
    void c7a_rangeUnmappedWhileInFlight() {
        SimRun r = SimRun.of(uffd().failure(FailureRule.Kind.UNMAPPED, X >>> 12, 1, 10 * MS, Long.MAX_VALUE)
                .task("t", 0, touch(X)).build());
        List<String> expected = new ArrayList<>(List.of(WAKE_ALL_READY, IRQ));
        expected.addAll(userFault(0x1000, X)); // page-ready is still delivered
        expected.add("kvm_userspace_exit: reason error (14)"); // the retry fails synchronously
        assertEquals(expected, seq(r), r.dump());
        assertEquals("vm_stopped", r.outcome());
        assertEquals(14, r.result.outcome().errno());
        assertEquals(X >>> 12, r.result.outcome().gfn());
        assertTrue(r.result.outcome().message().contains("Bad address"));
        assertEquals(1, r.all(GuestApfWake.class).size(), "the guest was woken for it");
    }

    @Test
    void c7b_sigbusWithInterruptsOnLoopsWithClimbingTokens() {
        SimRun r = SimRun.of(uffd().livelockRetries(100)
                .failure(FailureRule.Kind.SIGBUS, X >>> 12, 1, 0, Long.MAX_VALUE)
                .task("t", 0, touch(X)).build());
        assertEquals("livelock_suspected", r.outcome());
        RunResult.OutcomeView o = r.result.outcome();
        assertTrue(o.firstToken() < o.lastToken(), o.message());
        assertEquals(0x1000, o.firstToken());
        assertEquals(X >>> 12, o.gfn());
        assertTrue(r.all(UserspaceExit.class).isEmpty(), "KVM_RUN never fails");
        // not_present -> completed (the kworker runs before re-entry) -> the prefault's blocking GUP fails too
        // (kvm_arch_async_page_ready; no tracepoint on a real host, apfsim_sync_fault here) -> ready -> #PF -> retry
        List<String> n = names(r).subList(2, 2 + 7 * 100);
        for (int i = 0; i < 100; i++) {
            assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "kvm_async_pf_completed",
                    "apfsim_sync_fault", "kvm_async_pf_ready", "kvm_apic_accept_irq", "kvm_inj_exception"),
                    n.subList(7 * i, 7 * i + 7), "cycle " + i);
        }
        // the cycle is fast (the real host did about 2000 a second; the model's costs give more)
        assertTrue(o.cyclesPerSecond() > 2000, o.message());
    }

    @Test
    void c7c_sigbusWithInterruptsOffStopsTheVmAtOnce() {
        SimRun r = SimRun.of(uffd().failure(FailureRule.Kind.SIGBUS, X >>> 12, 1, 0, Long.MAX_VALUE)
                .task("t", 0, Action.CLI, touch(X), Action.STI).build());
        assertEquals(List.of(WAKE_ALL_READY, IRQ, "apfsim_sync_fault: gfn 0x300 reason sync_faults_irqs_off",
                "kvm_userspace_exit: reason error (14)"), seq(r), r.dump());
        assertEquals("vm_stopped", r.outcome());
        assertEquals(14, r.result.outcome().errno());
        assertTrue(r.result.outcome().timeNs() < MS, "at once");
    }

    @Test
    void c7d_wakeWithoutPageCompletesWhenThePageArrives() {
        SimRun r = SimRun.of(uffd().failure(FailureRule.Kind.SPURIOUS_WAKE, X >>> 12, 1, 10 * MS, Long.MAX_VALUE)
                .task("t", 0, touch(X)).build());
        List<String> expected = new ArrayList<>(List.of(WAKE_ALL_READY, IRQ));
        expected.addAll(userFault(0x1000, X));
        assertEquals(expected, seq(r), r.dump());
        assertEquals(1, r.machine.memory().spuriousWakes());
        Completed c = r.first(Completed.class);
        assertNotNull(c);
        assertTrue(c.time() >= 50 * MS, "not at the spurious wake (10 ms) but when the page arrives");
        assertEquals("ok", r.outcome());
        assertEquals(1, r.task(0).ops());
    }
}
