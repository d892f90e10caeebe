package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.Task;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.kvm.x86.X86Vcpu;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceEvent.ApfHalt;
import dev.apfsim.trace.TraceEvent.ApicAcceptIrq;
import dev.apfsim.trace.TraceEvent.Completed;
import dev.apfsim.trace.TraceEvent.GuestApfWait;
import dev.apfsim.trace.TraceEvent.GuestApfWake;
import dev.apfsim.trace.TraceEvent.GuestApfWakeAll;
import dev.apfsim.trace.TraceEvent.GuestPanic;
import dev.apfsim.trace.TraceEvent.InjException;
import dev.apfsim.trace.TraceEvent.Msr;
import dev.apfsim.trace.TraceEvent.NotPresent;
import dev.apfsim.trace.TraceEvent.Prefault;
import dev.apfsim.trace.TraceEvent.QueueCleared;
import dev.apfsim.trace.TraceEvent.Ready;
import dev.apfsim.trace.TraceEvent.RepeatedFault;
import dev.apfsim.trace.TraceEvent.SyncFault;
import dev.apfsim.trace.TraceEvent.TryAsyncGetPage;
import dev.apfsim.trace.TraceEvent.UserspaceExit;
import dev.apfsim.trace.TraceEvent.WakeupAllQueued;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.apfsim.arch.x86.ApfMsr.MSR_KVM_ASYNC_PF_ACK;
import static dev.apfsim.arch.x86.ApfMsr.MSR_KVM_ASYNC_PF_EN;
import static dev.apfsim.arch.x86.ApfMsr.MSR_KVM_ASYNC_PF_INT;
import static dev.apfsim.sim.SimRun.WAKE_ALL;
import static dev.apfsim.sim.TestScenarios.MS;
import static dev.apfsim.sim.TestScenarios.US;
import static dev.apfsim.sim.TestScenarios.area;
import static dev.apfsim.sim.TestScenarios.builder;
import static dev.apfsim.sim.TestScenarios.compute;
import static dev.apfsim.sim.TestScenarios.guest;
import static dev.apfsim.sim.TestScenarios.kernel;
import static dev.apfsim.sim.TestScenarios.linuxEn;
import static dev.apfsim.sim.TestScenarios.rdmsr;
import static dev.apfsim.sim.TestScenarios.touch;
import static dev.apfsim.sim.TestScenarios.wrmsr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance behaviours, one test per behaviour ("given X, real KVM does Y"), each on a scenario built in code. The
 * defaults are the section's: 6.12 host with an in-kernel LAPIC, no PV-CPUID enforcement, a Linux guest that
 * wrote INT = 0xf3 then EN = gpa | 0x9 (| 0x4, VMEXIT being offered). Unit-level parts that need package access
 * (gfn hash, token wrap, MSR table) are in {@code dev.apfsim.kvm.x86.X86UnitTest}; guest-only behaviours the host
 * never produces by itself are in {@code dev.apfsim.guest.GuestChecks}.
 */
class ReferenceBehaviourTest {
    /** Pages that are remote (post-copy, userfault) in most scenarios. */
    static final long X = 0x300000;
    static final long Y = 0x301000;
    static final long Z = 0x302000;
    /** A page on the (slow) swap device. */
    static final long S = 0x400000;

    static final int VEC = ApfMsr.HYPERVISOR_CALLBACK_VECTOR;

    static TestScenarios.Builder base() {
        return builder().remote(X, 0x100000).remoteLatency(2 * MS);
    }

    static boolean apfOrHalt(TraceEvent e) {
        return SimRun.isApfTracepoint(e) || e instanceof ApfHalt || e instanceof InjException
                || e instanceof SyncFault || (e instanceof ApicAcceptIrq a && a.vector() == VEC);
    }

    /** Events after the boot-time wake-all was handled (the first ACK write). */
    static List<TraceEvent> afterBoot(SimRun r) {
        int i = r.indexOf(e -> e instanceof Msr m && m.write() && m.msr() == MSR_KVM_ASYNC_PF_ACK);
        return i < 0 ? r.events : r.events.subList(i + 1, r.events.size());
    }

    static List<String> names(List<TraceEvent> events) {
        return events.stream().filter(ReferenceBehaviourTest::apfOrHalt).map(TraceEvent::name).toList();
    }

    static void assertAllDone(SimRun r) {
        for (Task t : r.machine.guest().tasks()) {
            assertEquals(Task.State.DONE, t.state(), () -> "task " + t.name + " not done\n" + r.dump());
        }
    }

    // ---- 1-8: enabling, MSRs, tokens ----------------------------------------------------------------------

    @Test
    void b01_enableWithOnlyBit0() {
        Scenario s = base().guest(guest(GuestConfig.ApfMode.CUSTOM, ApfMsr.KVM_ASYNC_PF_ENABLED))
                .task("t", 0, rdmsr(MSR_KVM_ASYNC_PF_EN), touch(X)).build();
        SimRun r = SimRun.of(s);
        List<Msr> en = r.msrs(MSR_KVM_ASYNC_PF_EN);
        assertEquals(2, en.size());
        assertTrue(en.get(0).write());
        assertFalse(en.get(0).gp(), "EN = gpa|1 is accepted");
        assertFalse(en.get(1).write());
        assertFalse(en.get(1).gp());
        assertEquals(area(0) | 1, en.get(1).data(), "RDMSR returns what was written");
        assertEquals(area(0) | 1, r.vcpu(0).apf.msrEnVal);
        assertFalse(r.vcpu(0).apf.pvEnabled());
        assertTrue(r.all(WakeupAllQueued.class).isEmpty(), "no wake-all is queued");
        assertEquals(0, r.counter("wake_alls"));
        // the host fault takes the halt path only
        assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "apfsim_apf_halt",
                "kvm_async_pf_completed", "kvm_async_pf_ready"), names(r.events), r.dump());
        assertTrue(r.all(InjException.class).isEmpty(), "no #PF");
        assertTrue(r.pageReadyIrqs().isEmpty(), "no page-ready IRQ");
        assertAllDone(r);
    }

    @Test
    void b02_reservedBitsRaiseGp() {
        Scenario s = base().task("t", 0,
                wrmsr(MSR_KVM_ASYNC_PF_EN, linuxEn(0) | 0x10),
                wrmsr(MSR_KVM_ASYNC_PF_EN, linuxEn(0) | 0x20),
                wrmsr(MSR_KVM_ASYNC_PF_INT, 0x1f3),
                wrmsr(MSR_KVM_ASYNC_PF_INT, 1L << 63),
                wrmsr(MSR_KVM_ASYNC_PF_INT, 0xf3),
                rdmsr(MSR_KVM_ASYNC_PF_EN), rdmsr(MSR_KVM_ASYNC_PF_INT)).build();
        SimRun r = SimRun.of(s);
        List<Msr> all = r.all(Msr.class);
        // boot: INT, EN, ACK (wake-all); then the task's seven accesses
        List<Msr> task = all.subList(3, all.size());
        assertEquals(7, task.size(), r.dump());
        assertEquals(List.of(true, true, true, true, false, false, false), task.stream().map(Msr::gp).toList());
        assertEquals(linuxEn(0), task.get(5).data(), "failed EN writes leave the value");
        assertEquals(0xf3, task.get(6).data());
        assertEquals(4, r.counter("msr_gp"));
        assertEquals(1, r.counter("wake_alls"), "a rejected EN write queues no wake-all");
    }

    @Test
    void b03_noInKernelLapic() {
        Scenario s = base().kvm(TestScenarios.noLapic()).task("t", 0,
                wrmsr(MSR_KVM_ASYNC_PF_EN, 0),
                wrmsr(MSR_KVM_ASYNC_PF_EN, area(0) | 1),
                wrmsr(MSR_KVM_ASYNC_PF_INT, 0xf3),
                wrmsr(MSR_KVM_ASYNC_PF_INT, 0),
                touch(X)).build();
        SimRun r = SimRun.of(s);
        List<Msr> all = r.all(Msr.class);
        // boot writes INT = 0xf3 and EN = gpa|0xd: both #GP; then the task's four
        assertEquals(List.of(MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_EN, MSR_KVM_ASYNC_PF_EN, MSR_KVM_ASYNC_PF_EN,
                MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_INT), all.stream().map(Msr::msr).toList(), r.dump());
        assertEquals(List.of(true, true, false, true, true, true), all.stream().map(Msr::gp).toList(),
                "only EN = 0 succeeds");
        assertEquals(0, r.vcpu(0).apf.msrEnVal);
        assertTrue(r.all(WakeupAllQueued.class).isEmpty());
        // and no async PF at all: kvm_can_do_async_pf needs lapic_in_kernel
        assertTrue(r.all(TryAsyncGetPage.class).isEmpty());
        assertEquals("sync_faults_no_lapic", r.first(SyncFault.class).reason());
        assertAllDone(r);
    }

    @Test
    void b05_ackSemantics() {
        // A and B fault and sleep; C runs with IF=0 while both pages arrive: the first page-ready is written to
        // the slot and its IRQ waits in the IRR, the second completion waits on the done list.
        Scenario s = base()
                .task("A", 0, touch(X))
                .task("B", 0, touch(Y))
                .task("C", 0, Action.CLI, compute(10 * MS), rdmsr(MSR_KVM_ASYNC_PF_ACK),
                        wrmsr(MSR_KVM_ASYNC_PF_ACK, 0), wrmsr(MSR_KVM_ASYNC_PF_ACK, 1), Action.STI)
                .build();
        List<String> seen = new ArrayList<>();
        SimRun r = SimRun.of(s, (m, e) -> {
            X86Vcpu v = m.x86Vcpus().get(0);
            if (e instanceof Msr msr && msr.msr() == MSR_KVM_ASYNC_PF_ACK && e.time() > 5 * MS
                    && seen.size() < 3) {
                seen.add((msr.write() ? "w" + msr.data() : "r" + msr.data()) + " pending=" + v.apf.pageReadyPending
                        + " done=" + v.asyncPf().doneSize() + " slot="
                        + Integer.toHexString(m.ram().read32(area(0) + ApfMsr.OFFSET_TOKEN)));
            }
        });
        assertEquals(List.of(
                "r0 pending=true done=1 slot=1000",   // RDMSR ACK reads 0
                "w0 pending=true done=1 slot=1000",   // ACK = 0 changes nothing
                "w1 pending=false done=1 slot=1000"), // ACK = 1 clears pending; slot busy: nothing delivered
                seen, r.dump());
        assertFalse(r.msrs(MSR_KVM_ASYNC_PF_ACK).stream().anyMatch(Msr::gp));
        // after STI the guest handles 0x1000, zeroes the slot and ACKs: 0x2000 is delivered inside that ACK
        assertAckDelivers(r, 0x1000, 0x2000);
        assertAllDone(r);
    }

    /** The page-ready of {@code next} is consumed while the guest's ACK of {@code handled} is being emulated. */
    static void assertAckDelivers(SimRun r, long handled, long next) {
        int wake = r.indexOf(e -> e instanceof GuestApfWake w && w.token() == handled);
        int ack = r.indexOf(wake, e -> e instanceof Msr m && m.write() && m.msr() == MSR_KVM_ASYNC_PF_ACK);
        int ready = r.indexOf(e -> e instanceof Ready rd && rd.token() == next);
        assertTrue(wake > 0 && wake < ready && ready < ack, r.dump());
        assertEquals(r.events.get(ack).time(), r.events.get(ready).time(), "delivered at the ACK itself");
        assertTrue(r.events.subList(wake, ack).stream().noneMatch(e -> e instanceof Msr),
                "no other exit in between: the ACK write re-scans the queue");
    }

    @Test
    void b06_wakeAllOnEnable() {
        List<String> atIrq = new ArrayList<>();
        Scenario s = base()
                .task("A", 0, touch(X))
                .task("B", 0, touch(Y))
                // re-enable while a completion waits on the done list (slot busy): no wake-all is added
                .task("C", 0, Action.CLI, compute(10 * MS), wrmsr(MSR_KVM_ASYNC_PF_EN, linuxEn(0)), Action.STI)
                .build();
        SimRun r = SimRun.of(s, (m, e) -> {
            if (e instanceof ApicAcceptIrq a && a.vector() == VEC && atIrq.isEmpty()) {
                atIrq.add(Integer.toHexString(m.ram().read32(area(0) + ApfMsr.OFFSET_TOKEN)));
            }
        });
        Ready first = r.first(Ready.class);
        assertEquals(WAKE_ALL, first.token());
        assertEquals(0, first.gva());
        assertEquals("kvm_async_pf_ready: token 0xffffffff gva 0x0",
                dev.apfsim.trace.FtraceFormat.line(first).replaceAll("^.*?: (kvm_)", "$1"));
        assertTrue(r.first(NotPresent.class).time() > first.time(), "before any fault");
        assertEquals(List.of("ffffffff"), atIrq, "token word written before the IRQ");
        ApicAcceptIrq irq = r.pageReadyIrqs().getFirst();
        assertEquals(VEC, irq.vector());
        assertTrue(r.first(GuestApfWakeAll.class) != null);
        // the second enable found done non-empty
        List<Msr> en = r.msrs(MSR_KVM_ASYNC_PF_EN);
        assertEquals(2, en.size());
        assertFalse(en.get(1).gp());
        assertEquals(1, r.all(WakeupAllQueued.class).size(), r.dump());
        assertEquals(1, r.readyTokens().stream().filter(t -> t == WAKE_ALL).count());
        assertAllDone(r);
    }

    @Test
    void b07_wakeAllThenOnlyLastNotPresentTokens() {
        Scenario s = base().task("t", 0, touch(X), touch(Y), touch(Z), touch(X + 0x3000), touch(X + 0x4000))
                .build();
        SimRun r = SimRun.of(s);
        long lastNotPresent = -1;
        List<Long> irqTokens = new ArrayList<>();
        for (TraceEvent e : r.events) {
            if (e instanceof NotPresent np) {
                lastNotPresent = np.token();
            } else if (e instanceof GuestApfWakeAll) {
                irqTokens.add(WAKE_ALL);
            } else if (e instanceof GuestApfWake w) {
                irqTokens.add(w.token());
                assertEquals(lastNotPresent, w.token(), "handler sees the last not-present CR2");
            }
        }
        assertEquals(List.of(WAKE_ALL, 0x1000L, 0x2000L, 0x3000L, 0x4000L, 0x5000L), irqTokens);
        assertEquals(5, r.task(0).ops());
    }

    @Test
    void b08_firstTokens() {
        Scenario s = base().vcpus(2)
                .task("a", 0, touch(X), touch(Y))
                .task("b", 1, touch(Z), touch(X + 0x8000))
                .build();
        SimRun r = SimRun.of(s);
        List<Long> v0 = r.all(NotPresent.class).stream().filter(e -> e.vcpu() == 0).map(NotPresent::token).toList();
        List<Long> v1 = r.all(NotPresent.class).stream().filter(e -> e.vcpu() == 1).map(NotPresent::token).toList();
        assertEquals(List.of(0x1000L, 0x2000L), v0);
        assertEquals(List.of(0x1001L, 0x2001L), v1);
        // the #PF delivers the token as CR2
        List<Long> cr2 = r.all(GuestApfWait.class).stream().map(GuestApfWait::token).toList();
        assertTrue(cr2.containsAll(List.of(0x1000L, 0x2000L, 0x1001L, 0x2001L)), cr2::toString);
        // at the 2^20 wrap the counter restarts at 1: token 0 is never handed out
        SimRun w = SimRun.of(base().task("t", 0, touch(X), touch(Y)).build(),
                m -> m.x86Vcpus().get(0).apf.id = 0xFFFFF, (m, e) -> {
                });
        assertEquals(List.of(0xFFFFF000L, 0x1000L), w.notPresentTokens());
        assertAllDone(w);
    }

    // ---- 9-18: the fault path -----------------------------------------------------------------------------

    @Test
    void b09_userModeDelivery() {
        List<Integer> flagsAtInjection = new ArrayList<>();
        SimRun r = SimRun.of(base().task("t", 0, touch(X)).build(), (m, e) -> {
            if (e instanceof InjException) {
                flagsAtInjection.add(m.ram().read32(area(0) + ApfMsr.OFFSET_FLAGS));
            }
        });
        List<TraceEvent> ev = afterBoot(r);
        int ept = 0;
        List<String> seq = new ArrayList<>();
        for (TraceEvent e : ev) {
            if (e instanceof TryAsyncGetPage || e instanceof NotPresent || e instanceof InjException
                    || e instanceof GuestApfWait || e instanceof Completed || e instanceof Ready) {
                seq.add(e.name());
            }
        }
        assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "kvm_inj_exception",
                "guest_apf_wait", "kvm_async_pf_completed", "kvm_async_pf_ready"), seq, r.dump());
        InjException pf = r.first(InjException.class);
        assertEquals(ApfMsr.PF_VECTOR, pf.vector());
        assertTrue(pf.hasError());
        assertEquals(0, pf.errorCode());
        assertEquals(List.of(1), flagsAtInjection, "flags = 1 when the #PF is injected");
        assertEquals(0x1000, r.first(GuestApfWait.class).token(), "CR2 = token");
        assertEquals(0, r.machine.ram().read32(area(0) + ApfMsr.OFFSET_FLAGS), "the guest consumed flags");
        // the #PF came before the retry: one EPT violation for the touch, the retry hit the prefaulted page
        assertEquals(1, r.counter("ept_violations"));
        assertEquals(1, r.counter("not_present_injected"));
        assertAllDone(r);
    }

    @Test
    void b10_kernelModeFaultWithoutSendAlways() {
        List<Integer> flagsAtHalt = new ArrayList<>();
        SimRun r = SimRun.of(base().task("t", 0, kernel(true), touch(X), kernel(false)).build(), (m, e) -> {
            if (e instanceof ApfHalt) {
                flagsAtHalt.add(m.ram().read32(area(0) + ApfMsr.OFFSET_FLAGS));
            }
        });
        assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "apfsim_apf_halt",
                "kvm_async_pf_completed", "kvm_async_pf_ready"), names(afterBoot(r)), r.dump());
        assertEquals(List.of(0), flagsAtHalt, "flags untouched");
        assertTrue(r.all(InjException.class).isEmpty(), "no #PF");
        assertEquals(1, r.pageReadyIrqs().size(), "only the boot wake-all IRQ, none for the completion");
        assertTrue(r.all(TraceEvent.VcpuState.class).stream().anyMatch(v -> v.state().equals("apf_halt")));
        assertTrue(r.result.vcpus().getFirst().timeNs().get("synthetic_halt") > MS);
        assertEquals(1, r.counter("ept_violations"), "retried after the prefault");
        assertAllDone(r);
        assertEquals(1, r.task(0).ops());
    }

    @Test
    void b12_interruptsOffIsSynchronous() {
        for (List<Action> steps : List.of(
                List.of(Action.CLI, touch(X), Action.STI),
                List.of(Action.CLI, Action.STI, touch(X)))) { // the STI shadow blocks interrupts too
            SimRun r = SimRun.of(base().task("t", 0, steps.toArray(Action[]::new)).build());
            assertTrue(r.all(TryAsyncGetPage.class).isEmpty(), r.dump());
            SyncFault f = r.first(SyncFault.class);
            assertNotNull(f, r.dump());
            assertEquals("sync_faults_irqs_off", f.reason());
            assertEquals(X >>> 12, f.gfn());
            assertTrue(r.result.vcpus().getFirst().timeNs().get("sync_blocked") >= 2 * MS);
            assertTrue(r.all(NotPresent.class).isEmpty());
            assertEquals(0, r.counter("synthetic_halts"));
            assertAllDone(r);
        }
    }

    @Test
    void b13_pendingOrReinjectedEventIsSynchronous() {
        for (int variant = 0; variant < 2; variant++) {
            final int v = variant;
            SimRun r = SimRun.of(base().task("t", 0, touch(X)).build(), m -> {
                if (v == 0) {
                    m.x86Vcpus().get(0).cpu.eventNeedsReinjection = true;
                } else {
                    m.x86Vcpus().get(0).cpu.exceptionPending = true;
                }
            }, (m, e) -> {
            });
            assertTrue(r.all(TryAsyncGetPage.class).isEmpty(), r.dump());
            assertEquals("sync_faults_event_pending", r.first(SyncFault.class).reason());
            assertAllDone(r);
        }
    }

    @Test
    void b14_pagingOffUsesHaltPath() {
        SimRun r = SimRun.of(base().task("t", 0, new Action.SetPaging(false), touch(X), new Action.SetPaging(true))
                .build());
        assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "apfsim_apf_halt",
                "kvm_async_pf_completed", "kvm_async_pf_ready"), names(afterBoot(r)), r.dump());
        assertTrue(r.all(InjException.class).isEmpty(), "never a #PF with CR0.PG=0");
        assertEquals(0, r.counter("not_present_injected"));
        assertAllDone(r);
    }

    @Test
    void b16_nonPvGuestStillGetsHostAsync() {
        // never enabled; a 10 ms fault spans two timer ticks, which are delivered during the synthetic halt
        SimRun r = SimRun.of(base().remoteLatency(10 * MS).guest(guest(GuestConfig.ApfMode.NEVER, 0))
                .task("t", 0, touch(X)).build());
        assertTrue(r.all(Msr.class).isEmpty(), "the guest never writes the MSRs");
        assertTrue(r.all(WakeupAllQueued.class).isEmpty());
        assertTrue(r.all(InjException.class).isEmpty());
        assertTrue(r.pageReadyIrqs().isEmpty());
        assertEquals(1, r.all(NotPresent.class).size());
        List<String> seq = r.names(e -> apfOrHalt(e) || (e instanceof ApicAcceptIrq a
                && a.vector() == ApfMsr.LOCAL_TIMER_VECTOR));
        assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "apfsim_apf_halt",
                // tick at 4 ms: delivered, the guest handles it and retries: repeated fault, halt again
                "kvm_apic_accept_irq", "kvm_try_async_get_page", "kvm_async_pf_repeated_fault", "apfsim_apf_halt",
                "kvm_apic_accept_irq", "kvm_try_async_get_page", "kvm_async_pf_repeated_fault", "apfsim_apf_halt",
                "kvm_async_pf_completed", "kvm_async_pf_ready"), seq, r.dump());
        assertEquals(2, r.counter("guest_interrupts"), "both ticks reached the guest");
        assertAllDone(r);
    }

    @Test
    void b17_repeatedFault() {
        // A's fault on X is outstanding when B touches another address in the same page
        SimRun r = SimRun.of(base().task("A", 0, touch(X)).task("B", 0, touch(X + 0x800)).build());
        assertEquals(List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "kvm_inj_exception",
                "kvm_try_async_get_page", "kvm_async_pf_repeated_fault", "apfsim_apf_halt",
                "kvm_async_pf_completed", "kvm_async_pf_ready", "kvm_apic_accept_irq"), names(afterBoot(r)), r.dump());
        RepeatedFault rf = r.first(RepeatedFault.class);
        assertEquals(X + 0x800, rf.gva());
        assertEquals(X >>> 12, rf.gfn());
        assertEquals(List.of(0x1000L), r.notPresentTokens(), "no new token");
        assertEquals(1, r.counter("async_pf_started"));
        assertAllDone(r);
    }

    @Test
    void b18_perVcpuLimitOf64() {
        TestScenarios.Builder b = base().remoteLatency(50 * MS);
        for (int i = 0; i < 65; i++) {
            b.task("t" + i, 0, touch(X + ((long) i << 12)));
        }
        List<Integer> queuedAtSync = new ArrayList<>();
        SimRun r = SimRun.of(b.build(), (m, e) -> {
            if (e instanceof SyncFault) {
                queuedAtSync.add(m.x86Vcpus().get(0).asyncPf().queued());
            }
        });
        assertEquals(64, r.all(NotPresent.class).size());
        assertEquals(65, r.all(TryAsyncGetPage.class).size());
        List<SyncFault> sync = r.all(SyncFault.class);
        assertEquals(1, sync.size(), r.dump());
        assertEquals("sync_faults_queue_full", sync.getFirst().reason());
        assertEquals((X >>> 12) + 64, sync.getFirst().gfn(), "the 65th fault");
        assertEquals(List.of(64), queuedAtSync);
        assertAllDone(r);
    }

    // ---- 19-25: completion and page-ready -----------------------------------------------------------------

    @Test
    void b19_onePageReadyAtATime() {
        Scenario s = base()
                .task("A", 0, touch(X))
                .task("B", 0, touch(Y))
                .task("C", 0, Action.CLI, compute(10 * MS), Action.STI)
                .build();
        SimRun r = SimRun.of(s);
        List<Completed> done = r.all(Completed.class);
        assertEquals(2, done.size());
        Ready r1 = r.all(Ready.class).stream().filter(e -> e.token() == 0x1000).findFirst().orElseThrow();
        Ready r2 = r.all(Ready.class).stream().filter(e -> e.token() == 0x2000).findFirst().orElseThrow();
        assertTrue(r1.time() < done.get(1).time(), "the first was delivered before the second completed");
        assertTrue(r2.time() >= 10 * MS, "the second waits while the guest has not cleared the slot: " + r.dump());
        // the second is delivered by the guest's ACK of the first, once the guest zeroed the slot
        assertAckDelivers(r, 0x1000, 0x2000);
        assertEquals(3, r.pageReadyIrqs().size(), "wake-all, 0x1000, 0x2000");
        assertAllDone(r);

        // other re-scans: setting CR0.PG with PV enabled. Here the slot is zeroed behind KVM's back at the 8 ms
        // tick (after the 4 ms entry consumed the request raised by the second completion with the slot busy):
        // nothing is delivered until C toggles paging at 10 ms.
        Scenario pg = base()
                .task("A", 0, touch(X))
                .task("B", 0, touch(Y))
                .task("C", 0, Action.CLI, compute(10 * MS), new Action.SetPaging(false), new Action.SetPaging(true),
                        compute(MS), Action.STI)
                .build();
        long[] zeroedAt = {-1};
        SimRun p = SimRun.of(pg, (m, e) -> {
            if (e instanceof ApicAcceptIrq a && a.vector() == ApfMsr.LOCAL_TIMER_VECTOR && e.time() >= 6 * MS
                    && zeroedAt[0] < 0) {
                m.ram().write32(area(0) + ApfMsr.OFFSET_TOKEN, 0);
                zeroedAt[0] = e.time();
            }
        });
        assertEquals(8 * MS, zeroedAt[0], p.dump());
        Ready second = p.all(Ready.class).stream().filter(e -> e.token() == 0x2000).findFirst().orElseThrow();
        assertTrue(second.time() >= 10 * MS && second.time() < 10 * MS + 100 * US,
                "delivered by the re-scan on CR0.PG=1, not when the slot became free: " + p.dump());
    }

    @Test
    void b20_haltPathCompletionsDoNotConsumeTheSlot() {
        // A and B fault in kernel mode (halt path) and are preempted by the tick; C then blocks the vCPU thread
        // in a synchronous fault while both pages arrive, so both completions are on the done list together.
        List<String> atReady = new ArrayList<>();
        Scenario s = base().remoteLatency(20 * MS).swapped(S, 0x1000).swapLatency(40 * MS)
                .guest(TestScenarios.withTick(GuestConfig.defaults(), MS, 4 * MS))
                .task("A", 0, kernel(true), touch(X), kernel(false))
                .task("B", 0, kernel(true), touch(Y), kernel(false))
                .task("C", 0, Action.CLI, touch(S), Action.STI)
                .build();
        SimRun r = SimRun.of(s, (m, e) -> {
            if (e instanceof Ready rd && rd.token() != WAKE_ALL) {
                atReady.add(Long.toHexString(rd.token()) + " slot="
                        + Integer.toHexString(m.ram().read32(area(0) + ApfMsr.OFFSET_TOKEN))
                        + " done=" + m.x86Vcpus().get(0).asyncPf().doneSize());
            }
        });
        List<Ready> ready = r.all(Ready.class).stream().filter(e -> e.token() != WAKE_ALL).toList();
        assertEquals(2, ready.size(), r.dump());
        assertEquals(ready.get(0).time(), ready.get(1).time(), "consumed in one pass");
        assertTrue(r.all(Completed.class).stream().allMatch(c -> c.time() < ready.getFirst().time()));
        assertEquals(List.of("1000 slot=0 done=1", "2000 slot=0 done=0"), atReady, "token slot never written");
        assertEquals(1, r.pageReadyIrqs().size(), "no IRQ for halt-path completions (only the boot wake-all)");
        assertEquals(2, r.counter("synthetic_halts"));
        assertAllDone(r);
    }

    @Test
    void b21_lapicSoftwareDisabled() {
        List<Boolean> lapicAtReady = new ArrayList<>();
        Scenario s = base()
                .task("A", 0, touch(X))
                .task("B", 0, new Action.SetLapicEnabled(false), compute(10 * MS), new Action.SetLapicEnabled(true),
                        compute(MS))
                .build();
        SimRun r = SimRun.of(s, (m, e) -> {
            if (e instanceof Ready rd && rd.token() == 0x1000) {
                lapicAtReady.add(m.x86Vcpus().get(0).lapic.enabled());
            }
        });
        Completed c = r.first(Completed.class);
        Ready ready = r.all(Ready.class).stream().filter(e -> e.token() == 0x1000).findFirst().orElseThrow();
        assertTrue(c.time() < 3 * MS);
        assertTrue(ready.time() >= 10 * MS, "not dequeued while SPIV disables the APIC: " + r.dump());
        assertEquals(List.of(true), lapicAtReady, "the SPIV enable triggered the delivery");
        assertEquals(2, r.pageReadyIrqs().size());
        assertTrue(r.pageReadyIrqs().getLast().time() == ready.time(), "and its IRQ was accepted");
        assertAllDone(r);
    }

    @Test
    void b22_completionEndsHlt() {
        // B executes HLT with IF=0: no interrupt can end it, only the completion of A's page
        Scenario s = base()
                .task("A", 0, touch(X))
                .task("B", 0, Action.CLI, Action.HLT, rdmsr(MSR_KVM_ASYNC_PF_ACK), Action.STI)
                .build();
        SimRun r = SimRun.of(s);
        Completed c = r.first(Completed.class);
        assertNotNull(c);
        Msr afterHlt = r.msrs(MSR_KVM_ASYNC_PF_ACK).stream().filter(m -> !m.write()).findFirst().orElseThrow();
        assertTrue(afterHlt.time() >= c.time() && afterHlt.time() - c.time() < 100 * US,
                "HLT returned at the completion: " + r.dump());
        assertAllDone(r);
    }

    @Test
    void b23_prefault() {
        // a normal completion prefaults: the retry takes no EPT violation
        SimRun r = SimRun.of(base().task("t", 0, touch(X)).build());
        List<Prefault> pf = r.all(Prefault.class);
        assertEquals(1, pf.size());
        assertTrue(pf.getFirst().fixed());
        assertEquals(X >>> 12, pf.getFirst().gfn());
        assertEquals(1, r.counter("prefaults_fixed"));
        assertEquals(1, r.counter("ept_violations"));
        // wake-all items never prefault: the boot wake-all was consumed without one
        Ready wakeAll = r.first(Ready.class);
        assertEquals(WAKE_ALL, wakeAll.token());
        assertTrue(pf.getFirst().time() > wakeAll.time());

        // shadow paging, guest CR3 changed while the fault was outstanding: no prefault, the retry faults
        SimRun cr3 = SimRun.of(base().task("A", 0, touch(X)).task("B", 0, new Action.SetCr3(0x5000), compute(5 * MS))
                .build(), m -> m.x86Vcpus().get(0).cpu.tdp = false, (m, e) -> {
                });
        Prefault skipped = cr3.first(Prefault.class);
        assertNotNull(skipped, cr3.dump());
        assertFalse(skipped.fixed());
        assertEquals("cr3-changed", skipped.why());
        assertEquals(0, cr3.counter("prefaults_fixed"));
        assertEquals(2, cr3.counter("ept_violations"), "the retry faults again");
        assertAllDone(cr3);

        // MMU direct-ness changed (shadow paging, CR0.PG cleared in between): no prefault either
        SimRun direct = SimRun.of(base().task("A", 0, touch(X))
                .task("B", 0, new Action.SetPaging(false), compute(5 * MS), new Action.SetPaging(true)).build(),
                m -> m.x86Vcpus().get(0).cpu.tdp = false, (m, e) -> {
                });
        Prefault p2 = direct.first(Prefault.class);
        assertNotNull(p2, direct.dump());
        assertFalse(p2.fixed());
        assertEquals("direct_map-changed", p2.why());
        assertEquals(2, direct.counter("ept_violations"));
        assertAllDone(direct);
    }

    @Test
    void b24_disableDiscards() {
        for (long disable : new long[]{0, area(0) | ApfMsr.KVM_ASYNC_PF_ENABLED}) {
            List<String> atDisable = new ArrayList<>();
            List<Task.State> aAtReenable = new ArrayList<>();
            Scenario s = base().remoteLatency(5 * MS)
                    .task("A", 0, touch(X))
                    .task("B", 0, compute(100 * US), wrmsr(MSR_KVM_ASYNC_PF_EN, disable), compute(10 * MS),
                            wrmsr(MSR_KVM_ASYNC_PF_EN, linuxEn(0)))
                    .build();
            AtomicInteger enWrites = new AtomicInteger();
            SimRun r = SimRun.of(s, (m, e) -> {
                if (e instanceof Msr msr && msr.msr() == MSR_KVM_ASYNC_PF_EN && msr.write()) {
                    int n = enWrites.incrementAndGet();
                    X86Vcpu v = m.x86Vcpus().get(0);
                    if (n == 2) {
                        atDisable.add("queued=" + v.asyncPf().queued() + " gfns=" + v.apf.gfns.size() + " done="
                                + v.asyncPf().doneSize());
                    } else if (n == 3) {
                        aAtReenable.add(m.guest().tasks().getFirst().state());
                    }
                }
            });
            assertEquals(List.of("queued=0 gfns=0 done=0"), atDisable, r.dump());
            QueueCleared qc = r.first(QueueCleared.class);
            assertNotNull(qc);
            assertEquals(1, qc.discarded());
            assertFalse(r.readyTokens().contains(0x1000L), "no page-ready ever arrives for the discarded fault");
            assertEquals(List.of(Task.State.APF_SLEEP), aAtReenable, "the task sleeps on until the guest wakes it");
            // re-enabling queues a wake-all; the guest's wake-all handler wakes A, whose retry now succeeds
            assertEquals(List.of(WAKE_ALL, WAKE_ALL), r.readyTokens());
            assertEquals(1, r.all(GuestApfWakeAll.class).getLast().woken());
            assertAllDone(r);
        }
    }

    @Test
    void b25_resetClearsStateButNotTheTokenCounter() {
        // guest NEVER: B enables by hand, so that after INIT nothing re-enables before B reads the MSRs back
        List<String> afterInit = new ArrayList<>();
        Scenario s = base().remoteLatency(10 * MS).guest(guest(GuestConfig.ApfMode.NEVER, 0))
                .task("B", 0, wrmsr(MSR_KVM_ASYNC_PF_INT, 0xf3), wrmsr(MSR_KVM_ASYNC_PF_EN, area(0) | 0x9),
                        new Action.Sleep(MS), Action.INIT, rdmsr(MSR_KVM_ASYNC_PF_EN), rdmsr(MSR_KVM_ASYNC_PF_INT),
                        wrmsr(MSR_KVM_ASYNC_PF_INT, 0xf3), wrmsr(MSR_KVM_ASYNC_PF_EN, area(0) | 0x9))
                .task("A", 0, touch(X))
                .build();
        SimRun r = SimRun.of(s, (m, e) -> {
            X86Vcpu v = m.x86Vcpus().get(0);
            if (e instanceof QueueCleared qc && qc.cause().equals("reset")) {
                v.apf.halted = true; // kvm_vcpu_reset must clear it (set here, inside the reset, to see that)
            }
            if (e instanceof Msr msr && !msr.write() && msr.msr() == MSR_KVM_ASYNC_PF_EN) {
                afterInit.add("en=" + msr.data() + " queued=" + v.asyncPf().queued() + " gfns=" + v.apf.gfns.size()
                        + " halted=" + v.apf.halted);
            }
            if (e instanceof Msr msr && !msr.write() && msr.msr() == MSR_KVM_ASYNC_PF_INT) {
                afterInit.add("int=" + msr.data());
            }
        });
        assertEquals(List.of("en=0 queued=0 gfns=0 halted=false", "int=0"), afterInit, r.dump());
        QueueCleared qc = r.all(QueueCleared.class).stream().filter(q -> q.cause().equals("reset")).findFirst()
                .orElseThrow();
        assertEquals(1, qc.discarded());
        Msr readBack = r.msrs(MSR_KVM_ASYNC_PF_EN).stream().filter(m -> !m.write()).findFirst().orElseThrow();
        assertTrue(readBack.time() - qc.time() < 20 * US, "the vCPU runs on at once, not halted");
        assertTrue(r.all(TraceEvent.VcpuState.class).stream().noneMatch(v -> v.state().equals("apf_halt")));
        assertEquals(List.of(0x1000L, 0x2000L), r.notPresentTokens(), "apf.id keeps counting across INIT");
        assertFalse(r.readyTokens().contains(0x1000L));
        assertTrue(r.readyTokens().contains(0x2000L));
        assertAllDone(r);
    }

    // ---- 31-37: guest side and failures -------------------------------------------------------------------

    @Test
    void b31_regularPfPassesThrough() {
        // the host never injects a #PF with flags = 0 by itself: drive the guest directly
        dev.apfsim.guest.GuestChecks.regularPfPassesThrough();
    }

    @Test
    void b32_wakeBeforeFault() {
        dev.apfsim.guest.GuestChecks.wakeBeforeFault();
    }

    @Test
    void b33_wakeAllScope() {
        // vCPU 0: A sleeps on X, then B re-enables (the guest's own path that queues a wake-all on vCPU 0);
        // vCPU 1: C sleeps on Y and must not be woken by CPU 0's wake-all
        List<Task.State> cAtWakeAll = new ArrayList<>();
        Scenario s = base().vcpus(2).remoteLatency(10 * MS)
                .task("A", 0, touch(X))
                .task("B", 0, compute(MS), wrmsr(MSR_KVM_ASYNC_PF_EN, linuxEn(0)))
                .task("C", 1, touch(Y))
                .build();
        SimRun r = SimRun.of(s, (m, e) -> {
            if (e instanceof GuestApfWakeAll w && w.vcpu() == 0 && w.woken() > 0) {
                cAtWakeAll.add(m.guest().tasks().get(2).state());
            }
        });
        List<GuestApfWakeAll> wa = r.all(GuestApfWakeAll.class);
        GuestApfWakeAll second = wa.stream().filter(w -> w.vcpu() == 0 && w.time() > MS).findFirst().orElseThrow();
        assertEquals(1, second.woken(), "only A, which slept on CPU 0");
        assertEquals(List.of(Task.State.APF_SLEEP), cAtWakeAll);
        GuestApfWake cWake = r.all(GuestApfWake.class).stream().filter(w -> w.token() == 0x1001).findFirst()
                .orElseThrow();
        assertTrue(cWake.time() >= 10 * MS, "C woken by its own page-ready only");
        assertEquals(2, cWake.task());
        assertAllDone(r);
    }

    @Test
    void b34_guestIrqOrder() {
        List<String> order = new ArrayList<>();
        SimRun r = SimRun.of(base().task("t", 0, touch(X)).build(), (m, e) -> {
            X86Vcpu v = m.x86Vcpus().get(0);
            int slot = m.ram().read32(area(0) + ApfMsr.OFFSET_TOKEN);
            if (e instanceof GuestApfWake w && w.token() == 0x1000) {
                order.add("wake eoi=" + !v.lapic.isrSet(VEC) + " slot=" + Integer.toHexString(slot));
            } else if (e instanceof Msr msr && msr.write() && msr.msr() == MSR_KVM_ASYNC_PF_ACK && !order.isEmpty()) {
                order.add("ack slot=" + Integer.toHexString(slot));
            }
        });
        assertEquals(List.of("wake eoi=true slot=1000", "ack slot=0"), order, r.dump());
        assertAllDone(r);
    }

    @Test
    void b35_guestPanics() {
        // kernel-mode async #PF: only a host with SEND_ALWAYS injects one, and the Linux guest panics
        SimRun r = SimRun.of(base().guest(guest(GuestConfig.ApfMode.CUSTOM, 0xb))
                .task("t", 0, kernel(true), touch(X)).build());
        assertEquals(1, r.all(InjException.class).size(), r.dump());
        GuestPanic p = r.first(GuestPanic.class);
        assertNotNull(p);
        assertEquals("Host injected async #PF in kernel mode", p.message());
        assertEquals("guest_panic", r.outcome());
        // IF=0: the host never injects then (the fault is synchronous), so drive the guest directly
        dev.apfsim.guest.GuestChecks.panicOnAsyncPfWithInterruptsOff(GuestConfig.KernelVersion.V6_12);
        dev.apfsim.guest.GuestChecks.panicOnAsyncPfWithInterruptsOff(GuestConfig.KernelVersion.MAINLINE);
    }

    @Test
    void b36_guestEnablingOrder() {
        for (boolean vmexit : new boolean[]{true, false}) {
            Scenario s = base().vcpus(2).kvm(vmexit ? dev.apfsim.host.KvmConfig.defaults()
                    : TestScenarios.noVmexitCpuid()).task("t", 0, touch(X)).build();
            SimRun r = SimRun.of(s);
            for (int cpu = 0; cpu < 2; cpu++) {
                final int c = cpu;
                List<Msr> w = r.all(Msr.class).stream().filter(m -> m.vcpu() == c && m.write()
                        && m.msr() != MSR_KVM_ASYNC_PF_ACK).toList();
                assertEquals(2, w.size());
                assertEquals(MSR_KVM_ASYNC_PF_INT, w.get(0).msr(), "INT first");
                assertEquals(0xf3, w.get(0).data());
                assertEquals(MSR_KVM_ASYNC_PF_EN, w.get(1).msr());
                long en = w.get(1).data();
                assertEquals(area(cpu), en & ~0x3fL);
                assertEquals(0, en & ApfMsr.KVM_ASYNC_PF_SEND_ALWAYS, "never SEND_ALWAYS");
                assertEquals(vmexit ? 0xd : 0x9, en & 0x3f, "bit 2 iff CPUID bit 10");
            }
        }
    }

    @Test
    void b37_failingBackingMemoryLoops() {
        Scenario s = base().livelockRetries(50)
                .failure(FailureRule.Kind.SIGBUS, X >>> 12, 1, 0, Long.MAX_VALUE)
                .task("t", 0, touch(X)).build();
        SimRun r = SimRun.of(s);
        assertEquals("livelock_suspected", r.outcome(), r.result.outcome().message());
        assertTrue(r.all(UserspaceExit.class).isEmpty(), "KVM_RUN never fails");
        List<Long> tokens = r.notPresentTokens();
        assertTrue(tokens.size() >= 50, "the run ends at the slice the detector fired in");
        for (int i = 1; i < tokens.size(); i++) {
            assertEquals(tokens.get(i - 1) + 0x1000, tokens.get(i), "tokens climb");
        }
        // one cycle: try, not_present, completed (GUP failed at once on the vCPU's CPU, ignored), the prefault's
        // blocking GUP on the vCPU thread (kvm_arch_async_page_ready, fails at once too, ignored), ready + IRQ, #PF
        List<String> cycle = List.of("kvm_try_async_get_page", "kvm_async_pf_not_present", "kvm_async_pf_completed",
                "apfsim_sync_fault", "kvm_async_pf_ready", "kvm_apic_accept_irq", "kvm_inj_exception");
        List<String> seq = names(afterBoot(r));
        for (int i = 0; i + cycle.size() <= 49 * cycle.size(); i += cycle.size()) {
            assertEquals(cycle, seq.subList(i, i + cycle.size()), "cycle at " + i);
        }
        assertEquals(50, r.result.outcome().retries());
        assertTrue(r.result.outcome().firstToken() < r.result.outcome().lastToken());
        assertTrue(r.counter("worker_errors") >= 49);
        assertNull(r.result.outcome().errno());
    }
}
