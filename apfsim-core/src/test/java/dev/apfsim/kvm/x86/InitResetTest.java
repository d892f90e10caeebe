package dev.apfsim.kvm.x86;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.x86.X86Exit;
import dev.apfsim.kvm.KvmVcpu;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** INIT/SIPI and the reset state: {@code kvm_vcpu_reset}, {@code kvm_lapic_reset}, {@code kvm_apic_accept_events}. */
class InitResetTest {
    /** Two vCPUs with a Linux guest that has enabled async PF; run 1 ms and stop. */
    private static Machine booted() {
        Machine m = new Machine(ScenarioLoader.load("t.yaml", """
                name: t
                duration: 100ms
                vm: {vcpus: 2, memory: 64MiB}
                workload:
                  tasks:
                    - {type: statistical, name: spin, count: 2, compute: {type: constant, value: 50us}, touches_per_op: 0}
                """));
        m.start();
        m.simulator().run(1_000_000);
        return m;
    }

    private static void exit(Machine m, X86Vcpu v, GuestExit e) {
        v.handleExit(e);
        m.simulator().run(m.simulator().now() + 1_000);
    }

    @Test
    void kvmVcpuReset_leavesPagereadyPendingAlone() {
        Machine m = booted();
        X86Vcpu ap = m.x86Vcpus().get(1);
        assertTrue(ap.apf.pvEnabled());
        ap.apf.pageReadyPending = true; // a page-ready the guest has not ACKed yet
        exit(m, ap, new GuestExit.Init(m.simulator().now()));
        assertTrue(ap.apf.pageReadyPending, "only the ACK write clears it");
        assertEquals(0, ap.apf.msrEnVal, "the APF MSRs are zeroed");
    }

    @Test
    void kvmLapicReset_leavesTheLapicSoftwareDisabledUntilTheGuestWritesSpiv() {
        Machine m = booted();
        X86Vcpu ap = m.x86Vcpus().get(1);
        ap.handleExit(new GuestExit.Init(m.simulator().now()));
        assertFalse(ap.lapic.enabled(), "SPIV = 0xff");
        assertFalse(ap.lapic.acceptFixed(0xf3), "a software-disabled LAPIC drops fixed interrupts");
        m.simulator().run(m.simulator().now() + 5_000_000);
        assertTrue(ap.lapic.enabled(), "the rebooted guest's setup_local_APIC enabled it");
        assertTrue(ap.apf.pvEnabled(), "and kvm_guest_cpu_init enabled async PF again");
    }

    @Test
    void kvmApicAcceptEvents_anApWaitsForSipiInInitReceived() {
        Machine m = booted();
        X86Vcpu ap = m.x86Vcpus().get(1);
        ap.handleExit(new GuestExit.Init(m.simulator().now()));
        m.simulator().run(m.simulator().now() + 5_000);
        assertTrue(ap.initReceived(), "KVM_MP_STATE_INIT_RECEIVED");
        assertEquals(KvmVcpu.RunState.BLOCKED, ap.runState(), "not runnable until SIPI");
        ap.apicSetIrq(0xec); // a timer interrupt does not wake it
        assertEquals(KvmVcpu.RunState.BLOCKED, ap.runState());
        m.simulator().run(m.simulator().now() + X86Vcpu.SIPI_AFTER_INIT_NS);
        assertFalse(ap.initReceived(), "the STARTUP IPI");
        m.simulator().run(m.simulator().now() + 1_000_000);
        assertTrue(ap.lapic.enabled() && ap.apf.pvEnabled(), "booted from scratch: LAPIC and async PF enabled again");
    }

    @Test
    void apicSetSpiv_requestsApfReadyOnEveryWriteWithTheEnableBit() {
        Machine m = booted();
        X86Vcpu v = m.x86Vcpus().get(0);
        assertTrue(v.lapic.enabled());
        // a completion that could not be dequeued sits on the done list; an SPIV write of an already enabled
        // LAPIC (no transition) still asks for it
        v.kvm.checkRequest(X86Vcpu.REQ_APF_READY);
        v.handleExit(new GuestExit.IrqControllerEnable(m.simulator().now(), true));
        assertTrue(v.kvm.checkRequest(X86Vcpu.REQ_APF_READY), "KVM_REQ_APF_READY");
        v.handleExit(new GuestExit.IrqControllerEnable(m.simulator().now(), false));
        assertFalse(v.kvm.checkRequest(X86Vcpu.REQ_APF_READY), "not on a write that disables");
    }

    @Test
    void kvmLapicSetBase_requestsApfReadyWhenTheApicIsHardwareEnabled() {
        Machine m = booted();
        X86Vcpu v = m.x86Vcpus().get(0);
        v.handleExit(new X86Exit.WrMsr(m.simulator().now(), X86Vcpu.MSR_IA32_APICBASE, 0xfee00100L));
        assertFalse(v.lapic.enabled(), "hardware-disabled");
        assertFalse(v.kvm.checkRequest(X86Vcpu.REQ_APF_READY));
        v.handleExit(new X86Exit.WrMsr(m.simulator().now(), X86Vcpu.MSR_IA32_APICBASE, 0xfee00900L));
        assertTrue(v.lapic.enabled());
        assertTrue(v.kvm.checkRequest(X86Vcpu.REQ_APF_READY), "KVM_REQ_APF_READY on APICBASE enable");
    }
}
