package dev.apfsim.kvm.x86;

import dev.apfsim.arch.x86.X86CpuState;
import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/** The async-PF-relevant part of the x86 MMU fault path ({@code mmu.c}). */
public final class X86Mmu {
    /** What the fault handler decided. */
    enum Outcome { FIXED, RETRY_ASYNC, RETRY_HALT, SYNC, EFAULT, HWPOISON }

    private final X86Vcpu vcpu;
    private final HostMemory memory;
    /** Why the last fault went synchronous. */
    Counter syncReason;

    X86Mmu(X86Vcpu vcpu, HostMemory memory) {
        this.vcpu = vcpu;
        this.memory = memory;
    }

    /** {@code kvm_mmu_page_fault} → {@code kvm_faultin_pfn} → {@code __kvm_faultin_pfn}, not a prefetch. */
    Outcome pageFault(long gpa, long gva, boolean write) {
        long gfn = gpa >>> 12;
        if (gfn >= memory.frames()) {
            return Outcome.EFAULT; // no memslot
        }
        long cr2OrGpa = vcpu.cpu.mmuDirect() ? gpa : gva;
        switch (memory.faultinNowait(gfn)) {
            case MAPPED_NOW -> {
                memory.map(gfn);
                vcpu.kvm.faults().mapped(gfn);
                vcpu.metrics.counters.inc(Counter.MINOR_FAULTS);
                return Outcome.FIXED;
            }
            case EFAULT -> {
                return Outcome.EFAULT; // kvm_handle_error_pfn: -EFAULT
            }
            case HWPOISON -> {
                return Outcome.HWPOISON; // kvm_send_hwpoison_signal
            }
            case NEEDS_IO -> {
            }
        }
        Counter refused = vcpu.kvm.asyncPfEnabled() ? vcpu.x86.cannotDoAsyncPf() : Counter.SYNC_APF_DISABLED_HOST;
        if (refused == null) {
            refused = vcpu.errorPolicy.refuseAsync(gfn);
        }
        if (refused == null) {
            vcpu.trace(new TraceEvent.TryAsyncGetPage(vcpu.sim.now(), vcpu.id, cr2OrGpa, gfn));
            vcpu.metrics.counters.inc(Counter.TRY_ASYNC);
            if (vcpu.apf.gfns.contains(gfn)) {
                vcpu.trace(new TraceEvent.RepeatedFault(vcpu.sim.now(), vcpu.id, cr2OrGpa, gfn));
                vcpu.metrics.counters.inc(Counter.REPEATED_FAULTS);
                vcpu.makeRequest(X86Vcpu.REQ_APF_HALT);
                return Outcome.RETRY_HALT;
            }
            if (vcpu.x86.setupAsyncPf(cr2OrGpa, gfn, write)) {
                vcpu.metrics.counters.inc(Counter.ASYNC_STARTED);
                vcpu.kvm.faults().asyncFault(vcpu.sim.now(), vcpu.id, gfn, Integer.toUnsignedLong(vcpu.x86.lastToken()));
                return Outcome.RETRY_ASYNC;
            }
            refused = Counter.SYNC_QUEUE_FULL;
        }
        syncReason = refused;
        vcpu.metrics.counters.inc(refused);
        return Outcome.SYNC;
    }

    /**
     * {@code kvm_arch_async_page_ready}: prefault before the guest retries, unless the MMU's direct-ness or (shadow
     * paging) the guest page-table root changed since the fault. Wake-all items have nothing to prefault. The
     * prefetch fault ({@code kvm_mmu_do_page_fault(..., prefetch=true)}) takes the page if it is in; if not, it
     * cannot go async ({@code __kvm_faultin_pfn}: {@code !fault->prefetch}) and does the blocking GUP on the vCPU
     * thread: returns true, and {@link #prefaultFaultedIn} finishes it.
     */
    boolean asyncPageReady(KvmAsyncPf work) {
        if (work.wakeupAll) {
            return false;
        }
        X86CpuState cpu = vcpu.cpu;
        X86ArchAsyncPf at = (X86ArchAsyncPf) work.arch;
        if (vcpu.config.policy().prefault() == X86Policy.PrefaultContext.SAME_CONTEXT) {
            if (cpu.mmuDirect() != at.directMap()) {
                skipped(work, "direct_map-changed");
                return false;
            }
            if (!cpu.mmuDirect() && cpu.guestPgd() != at.cr3()) { // kvm_mmu_get_guest_pgd: EPTP12 in L2
                skipped(work, "cr3-changed");
                return false;
            }
        }
        if (memory.isResident(work.gfn)) {
            fixed(work);
            return false;
        }
        switch (memory.faultinNowait(work.gfn)) {
            case MAPPED_NOW -> fixed(work);
            case NEEDS_IO -> {
                return true; // the page went away again after the worker had it (reclaim), or the worker's GUP failed
            }
            // kvm_handle_error_pfn: -EFAULT, which kvm_arch_async_page_ready ignores (no exit to userspace)
            case EFAULT -> skipped(work, "efault");
            case HWPOISON -> {
                vcpu.kvm.hwpoisonSignal(work.gfn); // kvm_send_hwpoison_signal, then RET_PF_RETRY (ignored)
                skipped(work, "hwpoison");
            }
        }
        return false;
    }

    /**
     * The blocking GUP of the prefetch fault returned: map the page, or, for an error pfn, {@code
     * kvm_handle_error_pfn}'s -EFAULT (or the poison signal), which {@code kvm_arch_async_page_ready} drops: the
     * item is presented all the same and the guest's retry faults again.
     */
    void prefaultFaultedIn(KvmAsyncPf work, int errno) {
        if (errno == 0) {
            fixed(work);
        } else if (errno == HostMemory.EHWPOISON) {
            vcpu.kvm.hwpoisonSignal(work.gfn);
            skipped(work, "hwpoison");
        } else if (errno == HostMemory.EINTR) {
            // kvm_handle_error_pfn: KVM_PFN_ERR_SIGPENDING → kvm_handle_signal_exit, -EINTR, dropped here too; the
            // signal ends KVM_RUN before the next entry
            skipped(work, "eintr");
        } else {
            skipped(work, "efault");
        }
    }

    private void fixed(KvmAsyncPf work) {
        if (vcpu.probing()) {
            X86CpuState cpu = vcpu.cpu;
            X86ArchAsyncPf at = (X86ArchAsyncPf) work.arch;
            vcpu.probe(new Probe.Prefault(vcpu.id, work.gfn, at.directMap(), at.cr3(), at.guestMode(),
                    cpu.mmuDirect(), cpu.guestPgd(), cpu.guestMode));
        }
        memory.map(work.gfn);
        vcpu.kvm.faults().mapped(work.gfn);
        vcpu.metrics.counters.inc(Counter.PREFAULTS);
        vcpu.trace(new TraceEvent.Prefault(vcpu.sim.now(), vcpu.id, work.gfn, true,
                contextChanged(work) ? "other-context" : ""));
    }

    /** True when the prefault lands in an MMU context other than the fault's (the c4806acdcec0 bug). */
    boolean contextChanged(KvmAsyncPf work) {
        X86CpuState cpu = vcpu.cpu;
        X86ArchAsyncPf at = (X86ArchAsyncPf) work.arch;
        return cpu.mmuDirect() != at.directMap() || cpu.guestMode != at.guestMode()
                || (!cpu.mmuDirect() && cpu.guestPgd() != at.cr3());
    }

    private void skipped(KvmAsyncPf work, String why) {
        vcpu.metrics.counters.inc(Counter.PREFAULTS_SKIPPED);
        vcpu.trace(new TraceEvent.Prefault(vcpu.sim.now(), vcpu.id, work.gfn, false, why));
    }
}
