package dev.apfsim.kvm.x86;


import dev.apfsim.arch.x86.ApfMsr;

import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.memory.GuestRam;

/** The APF cases of {@code kvm_set_msr_common} / {@code kvm_get_msr_common}. */
final class ApfMsrHandler {
    /** Result of an MSR access: #GP or a value (reads). */
    record Result(boolean gp, long value) {
        static final Result OK = new Result(false, 0);
        static final Result GP = new Result(true, 0);
    }

    private final X86Vcpu vcpu;
    private final X86Apf apf;
    private final AsyncPf generic;
    private final GuestRam ram;

    ApfMsrHandler(X86Vcpu vcpu, AsyncPf generic, GuestRam ram) {
        this.vcpu = vcpu;
        this.apf = vcpu.apf;
        this.generic = generic;
        this.ram = ram;
    }

    /** Returns null when the MSR is not an APF MSR. */
    Result write(int msr, long data) {
        X86Config c = vcpu.config;
        return switch (msr) {
            case ApfMsr.MSR_KVM_ASYNC_PF_EN ->
                    !c.guestPvHas(c.cpuidAsyncPf()) ? Result.GP : (enableAsyncPf(data) ? Result.GP : Result.OK);
            case ApfMsr.MSR_KVM_ASYNC_PF_INT ->
                    !c.guestPvHas(c.cpuidAsyncPfInt()) ? Result.GP : (enableAsyncPfInt(data) ? Result.GP : Result.OK);
            case ApfMsr.MSR_KVM_ASYNC_PF_ACK -> {
                if (!c.guestPvHas(c.cpuidAsyncPfInt())) {
                    yield Result.GP;
                }
                if ((data & 1) != 0) {
                    apf.pageReadyPending = dev.apfsim.engine.Mutants.on(dev.apfsim.engine.Mutants.Mutant.ACK_KEEPS_PENDING);
                    generic.checkCompletion();
                }
                yield Result.OK;
            }
            // the other PV MSRs of the guest's hotplug code (kvmclock, steal time, PV EOI; migration control, which
            // the VMM handles): accepted, nothing of them is modelled
            case ApfMsr.MSR_KVM_SYSTEM_TIME_NEW, ApfMsr.MSR_KVM_STEAL_TIME, ApfMsr.MSR_KVM_PV_EOI_EN,
                 ApfMsr.MSR_KVM_MIGRATION_CONTROL -> Result.OK;
            default -> null;
        };
    }

    Result read(int msr) {
        X86Config c = vcpu.config;
        return switch (msr) {
            case ApfMsr.MSR_KVM_ASYNC_PF_EN ->
                    c.guestPvHas(c.cpuidAsyncPf()) ? new Result(false, apf.msrEnVal) : Result.GP;
            case ApfMsr.MSR_KVM_ASYNC_PF_INT ->
                    c.guestPvHas(c.cpuidAsyncPfInt()) ? new Result(false, apf.msrIntVal) : Result.GP;
            case ApfMsr.MSR_KVM_ASYNC_PF_ACK -> c.guestPvHas(c.cpuidAsyncPfInt()) ? Result.OK : Result.GP;
            default -> null;
        };
    }

    /** {@code kvm_pv_enable_async_pf}; true means #GP. */
    private boolean enableAsyncPf(long data) {
        X86Config c = vcpu.config;
        if ((data & ApfMsr.RESERVED_EN_BITS) != 0) {
            return true;
        }
        if (!c.guestPvHas(c.cpuidAsyncPfVmexit()) && (data & ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT) != 0) {
            return true;
        }
        if (!c.guestPvHas(c.cpuidAsyncPfInt()) && (data & ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT) != 0) {
            return true;
        }
        if (!c.lapicInKernel()) {
            return data != 0; // "always allow writing '0'"
        }
        apf.msrEnVal = data;
        if (!apf.pvEnabled()) {
            generic.clearCompletionQueue("msr-disable");
            apf.gfns.reset();
            return false;
        }
        long gpa = data & ~0x3fL;
        if (!ram.valid(gpa)) {
            return true; // kvm_gfn_to_hva_cache_init failed
        }
        apf.dataGpa = gpa;
        apf.sendUserOnly = (data & ApfMsr.KVM_ASYNC_PF_SEND_ALWAYS) == 0;
        apf.deliveryAsPfVmexit = (data & ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT) != 0;
        if (c.policy().pageReadyWaitsForAck()) {
            apf.pageReadyPending = false; // the policy's gate: a (re-)enabled guest has no page-ready to ACK
        }
        generic.wakeupAll();
        return false;
    }

    /** {@code kvm_pv_enable_async_pf_int}; no check that the vector is valid. */
    private boolean enableAsyncPfInt(long data) {
        if ((data >>> 8) != 0) {
            return true;
        }
        if (!vcpu.config.lapicInKernel()) {
            return true;
        }
        apf.msrIntVal = data;
        apf.vec = (int) (data & 0xff);
        return false;
    }
}
