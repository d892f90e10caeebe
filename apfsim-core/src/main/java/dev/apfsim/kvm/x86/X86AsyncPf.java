package dev.apfsim.kvm.x86;

import dev.apfsim.engine.Mutants;

import dev.apfsim.arch.x86.ApfMsr;

import dev.apfsim.arch.x86.X86CpuState;

import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/** The x86 rules of async PF ({@code x86.c}, {@code mmu.c}) for one vCPU. */
public final class X86AsyncPf {
    private final X86Vcpu vcpu;
    private final X86Apf apf;
    private final AsyncPf generic;
    private final GuestRam ram;
    private final HostMemory memory;
    /** Token of the last async PF set up (for observers). */
    int lastToken;

    X86AsyncPf(X86Vcpu vcpu, AsyncPf generic, GuestRam ram, HostMemory memory) {
        this.vcpu = vcpu;
        this.apf = vcpu.apf;
        this.generic = generic;
        this.ram = ram;
        this.memory = memory;
    }

    public int lastToken() {
        return lastToken;
    }

    /** {@code kvm_can_do_async_pf}: null if async is possible, else the reason the fault goes synchronous. */
    public Counter cannotDoAsyncPf() {
        X86CpuState cpu = vcpu.cpu;
        if (!vcpu.config.lapicInKernel()) {
            return Counter.SYNC_NO_LAPIC;
        }
        if (cpu.eventNeedsReinjection || cpu.exceptionPending || vcpu.hasPendingException()) {
            return Counter.SYNC_EVENT_PENDING;
        }
        if (vcpu.config.hltInGuest() && !canDeliverAsyncPf()) {
            return Counter.SYNC_HLT_IN_GUEST;
        }
        // "If interrupts are off we cannot even use an artificial halt state."
        // kvm_arch_interrupt_allowed → vmx_interrupt_blocked (an L2 whose L1 exits on interrupts is never blocked)
        return !cpu.interruptBlocked() || Mutants.on(Mutants.Mutant.ASYNC_WITH_IRQS_OFF) ? null : Counter.SYNC_IRQS_OFF;
    }

    /** {@code kvm_can_deliver_async_pf}. */
    public boolean canDeliverAsyncPf() {
        if (!apf.pvEnabled()) {
            return false;
        }
        if (apf.sendUserOnly && vcpu.cpu.cpl == 0) {
            return false;
        }
        if (vcpu.cpu.guestMode) {
            return apf.deliveryAsPfVmexit; // L1 opts in to #PF VM-exits
        }
        return vcpu.cpu.paging || vcpu.config.policy().deliverWhenPagingOff()
                || Mutants.on(Mutants.Mutant.DELIVER_WITH_PAGING_OFF);
    }

    /** {@code alloc_apf_token}: (id++ << 12) | vcpu_id, skipping 0 when the id wraps. */
    int allocApfToken() {
        if (apf.id << 12 == 0 && vcpu.config.policy().tokenWrapFix()
                && !Mutants.on(Mutants.Mutant.TOKEN_ZERO_ON_WRAP)) {
            apf.id = 1;
        }
        return (apf.id++ << 12) | vcpu.id;
    }

    /** {@code kvm_arch_setup_async_pf}. */
    public boolean setupAsyncPf(long cr2OrGpa, long gfn, boolean write) {
        int token = allocApfToken();
        lastToken = token;
        vcpu.probe(new Probe.AsyncPfSetup(vcpu.id, token, gfn));
        KvmAsyncPf work = new KvmAsyncPf(cr2OrGpa, hva(gfn), false, token, gfn, new X86ArchAsyncPf(vcpu.cpu.guestPgd(),
                vcpu.cpu.mmuDirect(), vcpu.cpu.guestMode, write ? 2 : 0), vcpu.sim.now());
        return generic.setup(work); // on failure the token id stays consumed, as in the kernel
    }

    static long hva(long gfn) {
        return 0x7f0000000000L + (gfn << 12); // a VMM-style mapping of guest RAM
    }

    public boolean asyncPageNotPresent(KvmAsyncPf work) {
        vcpu.trace(new TraceEvent.NotPresent(vcpu.sim.now(), vcpu.id, work.tokenUnsigned(), work.cr2OrGpa));
        apf.gfns.add(work.gfn);
        if (canDeliverAsyncPf() && apfPutUserNotPresent()) {
            vcpu.metrics.counters.inc(Counter.NOT_PRESENT_INJECTED);
            vcpu.probe(new Probe.NotPresentInjected(vcpu.id, work.tokenUnsigned(), vcpu.cpu.guestMode,
                    vcpu.cpu.paging, vcpu.cpu.interruptAllowed()));
            vcpu.injectAsyncPageFault(work.token);
            return true;
        }
        // "putting the guest in an artificial halt state can be beneficial nevertheless"
        vcpu.makeRequest(X86Vcpu.REQ_APF_HALT);
        return false;
    }

    /** {@code apf_put_user_notpresent}: flags = KVM_PV_REASON_PAGE_NOT_PRESENT (the host never checks it). */
    private boolean apfPutUserNotPresent() {
        return putReason(ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT);
    }

    private boolean putReason(int reason) {
        long gpa = apf.dataGpa + ApfMsr.OFFSET_FLAGS;
        if (ram.valid(gpa)) {
            vcpu.probe(new Probe.SharedWordWrite(vcpu.id, Probe.Word.REASON, ram.read32(gpa), reason));
        }
        return ram.write32(gpa, reason);
    }

    /** {@code apf_put_user_ready}: token word = token. */
    private boolean apfPutUserReady(int token) {
        long gpa = apf.dataGpa + ApfMsr.OFFSET_TOKEN;
        if (ram.valid(gpa)) {
            vcpu.probe(new Probe.SharedWordWrite(vcpu.id, Probe.Word.TOKEN, ram.read32(gpa), token));
        }
        return ram.write32(gpa, token);
    }

    /**
     * ≤5.7 {@code kvm_arch_async_page_present}: page-ready is a second #PF with reason 2 and CR2 = token, for
     * every item (no notpresent_injected test yet); if the not-present #PF is still pending, both cancel out.
     */
    private void legacyPagePresent(KvmAsyncPf work) {
        if (work.wakeupAll) {
            work.token = ApfMsr.WAKE_ALL_TOKEN;
        } else {
            apf.gfns.remove(work.gfn);
        }
        vcpu.metrics.counters.inc(Counter.PAGE_READY);
        vcpu.trace(new TraceEvent.Ready(vcpu.sim.now(), vcpu.id, work.tokenUnsigned(), work.cr2OrGpa));
        long gpa = apf.dataGpa + ApfMsr.OFFSET_FLAGS;
        if ((apf.msrEnVal & ApfMsr.KVM_ASYNC_PF_ENABLED) != 0 && ram.valid(gpa)) {
            if (ram.read32(gpa) == ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT && vcpu.hasPendingException()) {
                ram.write32(gpa, 0);
                vcpu.cancelPendingException();
            } else if (putReason(ApfMsr.KVM_PV_REASON_PAGE_READY)) {
                vcpu.metrics.counters.inc(Counter.PAGE_READY_INJECTED);
                vcpu.injectAsyncPageFault(work.token);
            }
        }
        apf.halted = false;
        vcpu.mpStateRunnable();
    }

    /** {@code apf_pageready_slot_free}: a failed read counts as busy. */
    private boolean apfPageReadySlotFree() {
        long gpa = apf.dataGpa + ApfMsr.OFFSET_TOKEN;
        return ram.valid(gpa) && ram.read32(gpa) == 0;
    }

    public void asyncPagePresent(KvmAsyncPf work) {
        if (apf.legacy) {
            legacyPagePresent(work);
            return;
        }
        if (work.wakeupAll) {
            work.token = ApfMsr.WAKE_ALL_TOKEN; // broadcast wakeup
        } else if (!Mutants.on(Mutants.Mutant.KEEP_GFN_IN_HASH)) {
            apf.gfns.remove(work.gfn);
        }
        vcpu.metrics.counters.inc(Counter.PAGE_READY);
        vcpu.trace(new TraceEvent.Ready(vcpu.sim.now(), vcpu.id, work.tokenUnsigned(), work.cr2OrGpa));
        boolean flagError = vcpu.errorPolicy.pagePresent(work);
        if ((work.wakeupAll || work.notpresentInjected) && apf.pvEnabled() && apfPutUserReady(work.token)) {
            vcpu.probe(new Probe.PageReadyInjected(vcpu.id, work.tokenUnsigned(), apf.pageReadyPending));
            if (flagError && ram.write32(apf.dataGpa + ApfMsr.OFFSET_PAGEREADY_FLAGS, 1)) {
                vcpu.metrics.counters.inc(Counter.ERROR_INJECTED); // seed 004 patch 2: pageready_flag bit 0
            }
            apf.pageReadyPending = true;
            vcpu.metrics.counters.inc(Counter.PAGE_READY_INJECTED);
            vcpu.apicSetIrq(apf.vec);
        }
        apf.halted = false;
        vcpu.mpStateRunnable();
    }

    public void asyncPagePresentQueued() {
        if (apf.legacy) {
            return; // ≤5.7 async_pf_execute only woke a sleeping vCPU; the run loop polled the done list
        }
        vcpu.makeRequest(X86Vcpu.REQ_APF_READY);
        if (!apf.pageReadyPending) {
            vcpu.kick();
        }
    }

    public boolean canDequeueAsyncPagePresent() {
        if (!apf.pvEnabled()) {
            return true;
        }
        if (apf.legacy) {
            return cannotDoAsyncPf() == null; // ≤5.7 kvm_arch_can_inject_async_page_present
        }
        boolean lapicOk = vcpu.lapic.enabled() || !vcpu.config.policy().lapicDisabledFix();
        // 6.12 asks only for a free slot; the policy also waits for the ACK, which re-checks the done list itself
        boolean acked = !apf.pageReadyPending || !vcpu.config.policy().pageReadyWaitsForAck();
        return lapicOk && acked && (apfPageReadySlotFree() || Mutants.on(Mutants.Mutant.IGNORE_SLOT_BUSY));
    }

    HostMemory memory() {
        return memory;
    }
}
