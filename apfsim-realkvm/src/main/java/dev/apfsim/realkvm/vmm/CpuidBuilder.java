package dev.apfsim.realkvm.vmm;

import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.kvm.CpuidEntry;

import java.util.ArrayList;
import java.util.List;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;

/**
 * The guest's CPUID: what KVM supports, with the KVM PV leaves replaced by the test's choice (only the async
 * PF features it names are advertised) and the vCPU's APIC id in leaf 1.
 */
final class CpuidBuilder {
    private CpuidBuilder() {
    }

    static final int SIG_EBX = 0x4b4d564b, SIG_ECX = 0x564b4d56, SIG_EDX = 0x4d; // "KVMKVMKVM\0\0\0"

    static List<CpuidEntry> build(List<CpuidEntry> supported, TestGuest.PvCpuid pv, int vcpu) {
        List<CpuidEntry> out = new ArrayList<>();
        for (CpuidEntry e : supported) {
            if (e.function() >= KVM_CPUID_SIGNATURE && e.function() <= KVM_CPUID_SIGNATURE + 0xff) {
                continue;
            }
            if (e.function() == 1) {
                e = e.withEbx((e.ebx() & 0x00ffffff) | (vcpu << 24)).withEcx(e.ecx() | (1 << 31));
            }
            out.add(e);
        }
        out.add(new CpuidEntry(KVM_CPUID_SIGNATURE, 0, 0, KVM_CPUID_FEATURES, SIG_EBX, SIG_ECX, SIG_EDX));
        int features = (pv.asyncPf() ? 1 << KVM_FEATURE_ASYNC_PF : 0)
                | (pv.asyncPfVmexit() ? 1 << KVM_FEATURE_ASYNC_PF_VMEXIT : 0)
                | (pv.asyncPfInt() ? 1 << KVM_FEATURE_ASYNC_PF_INT : 0);
        out.add(new CpuidEntry(KVM_CPUID_FEATURES, 0, 0, features, 0, 0, 0));
        return out;
    }
}
