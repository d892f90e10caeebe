package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.metrics.Counter;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The nested (L2) rules of async PF: {@code vmx_interrupt_blocked}, the L2 prefault root, the exit info. */
class NestedRulesTest {
    private final List<TraceEvent> events = new ArrayList<>();

    /** One vCPU with a Linux guest that enabled async PF (with the #PF VM-exit bit), a resident page at 0x300000. */
    private Machine booted() {
        Machine m = new Machine(ScenarioLoader.load("t.yaml", """
                name: t
                duration: 100ms
                vm: {vcpus: 1, memory: 64MiB}
                memory:
                  regions: [{start: 0x300000, size: 64KiB, state: resident}]
                workload:
                  tasks:
                    - {type: statistical, name: spin, compute: {type: constant, value: 50us}, touches_per_op: 0}
                """));
        m.attach(events::add);
        m.start();
        m.simulator().run(1_000_000);
        return m;
    }

    @Test
    void vmxInterruptBlocked_l2WithIfZeroIsNotBlockedWhenL1InterceptsInterrupts() {
        X86Vcpu v = booted().x86Vcpus().getFirst();
        v.cpu.guestMode = true;
        v.cpu.interruptFlag = false; // L2 runs with IF=0
        assertNull(v.x86().cannotDoAsyncPf(), "kvm_can_do_async_pf: the fault may go async");
        v.cpu.l1ExitsOnIntr = false;
        assertEquals(Counter.SYNC_IRQS_OFF, v.x86().cannotDoAsyncPf(), "without the intercept IF=0 blocks");
        v.cpu.guestMode = false;
        v.cpu.l1ExitsOnIntr = true;
        assertEquals(Counter.SYNC_IRQS_OFF, v.x86().cannotDoAsyncPf(), "L1 with IF=0 is blocked");
    }

    @Test
    void kvmArchAsyncPageReady_l2PrefaultComparesEptp12NotL2Cr3() {
        Machine m = booted();
        X86Vcpu v = m.x86Vcpus().getFirst();
        v.cpu.guestMode = true; // L2 under nested EPT: the MMU shadows EPTP12
        v.x86().setupAsyncPf(0x300000, 0x300, false);
        KvmAsyncPf work = v.asyncPf().queue().iterator().next();
        v.cpu.pgd ^= 0x200000; // L2 switches its own page tables: not the MMU's root
        v.mmu.asyncPageReady(work);
        assertEquals(1, m.metrics().counters.get(Counter.PREFAULTS), "prefaulted: same EPTP12");
        v.x86().setupAsyncPf(0x301000, 0x301, false);
        KvmAsyncPf second = null;
        for (KvmAsyncPf w : v.asyncPf().queue()) {
            second = w;
        }
        v.cpu.eptp12 += 0x1000; // L1 runs another L2 (another EPT root)
        v.mmu.asyncPageReady(second);
        assertEquals(1, m.metrics().counters.get(Counter.PREFAULTS_SKIPPED), "skipped: EPTP12 changed");
    }

    @Test
    void nestedVmxInjectExceptionVmexit_errorCodeValidFollowsCr0Pe() {
        Machine m = booted();
        X86Vcpu v = m.x86Vcpus().getFirst();
        v.cpu.guestMode = true;
        v.cpu.paging = false; // L2 in protected mode without paging
        v.cpu.pe = true;
        v.injectAsyncPageFault(0x1000);
        v.injectPendingEvents(m.simulator().now());
        TraceEvent.NestedVmexitInject exit = events.stream().filter(TraceEvent.NestedVmexitInject.class::isInstance)
                .map(TraceEvent.NestedVmexitInject.class::cast).reduce((a, b) -> b).orElseThrow();
        assertEquals(0x80000b0e, exit.intrInfo(), "error code valid: CR0.PE");
        v.cpu.guestMode = true; // back in L2 (the VM exit went to L1), now in real mode
        v.cpu.paging = false;
        v.cpu.pe = false;
        v.injectAsyncPageFault(0x2000);
        v.injectPendingEvents(m.simulator().now());
        exit = events.stream().filter(TraceEvent.NestedVmexitInject.class::isInstance)
                .map(TraceEvent.NestedVmexitInject.class::cast).reduce((a, b) -> b).orElseThrow();
        assertEquals(0x8000030e, exit.intrInfo(), "no error code in real mode");
    }
}
