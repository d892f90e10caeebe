package dev.apfsim.guest.x86;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.memory.GuestRam;

/**
 * What one x86 guest CPU has registered with the host's async PF, and the MSR writes that do it
 * ({@code kvm_guest_cpu_init}, {@code kvm_pv_disable_apf}): the per-CPU {@code apf_reason} area,
 * {@code async_pf_enabled} and the page-ready vector. The state is what the guest believes from its own writes,
 * not what the host accepted.
 */
final class ApfRegistration {
    private final GuestConfig config;
    private final GuestRam ram;
    /** CPUID offers KVM_FEATURE_ASYNC_PF_VMEXIT (Linux then sets EN bit 2). */
    private final boolean offersPfVmexit;
    /** CPUID offers KVM_FEATURE_ASYNC_PF_INT (the 5.9+ guest's gate) and KVM_FEATURE_ASYNC_PF (≤5.7's). */
    private final boolean offersInt;
    private final boolean offersApf;

    private boolean enabled;
    private long areaGpa;
    private int vectorInUse = -1;

    ApfRegistration(GuestConfig config, GuestRam ram, long areaGpa, boolean offersPfVmexit, boolean offersInt,
                    boolean offersApf) {
        this.config = config;
        this.ram = ram;
        this.areaGpa = areaGpa;
        this.offersPfVmexit = offersPfVmexit;
        this.offersInt = offersInt;
        this.offersApf = offersApf;
    }

    boolean enabled() {
        return enabled;
    }

    long areaGpa() {
        return areaGpa;
    }

    void reset() {
        enabled = false;
    }

    /** {@code vector} is the page-ready notification: the configured one, or the one this CPU registered. */
    boolean isPageReadyVector(int vector) {
        return vector == config.apfVector() || (enabled && vector == vectorInUse);
    }

    /** The flags without consuming them (6.12.117's first look): 0 when async PF is off on this CPU. */
    int peekFlags() {
        return enabled ? ram.read32(areaGpa + ApfMsr.OFFSET_FLAGS) : 0;
    }

    /** {@code kvm_read_and_reset_apf_flags}: 0 when async PF is off on this CPU. */
    int readAndResetFlags() {
        if (!enabled) {
            return 0;
        }
        int flags = ram.read32(areaGpa + ApfMsr.OFFSET_FLAGS);
        ram.write32(areaGpa + ApfMsr.OFFSET_FLAGS, 0);
        return flags;
    }

    /**
     * The MSR writes of {@code kvm_guest_cpu_init} for this guest kind (none if it never enables): INT, then EN.
     * Linux enables only if CPUID offers the feature and {@code no-kvmapf} ({@code apf: never}) is not given:
     * 5.9+ checks {@code kvm_para_has_feature(KVM_FEATURE_ASYNC_PF_INT) && kvmapf}, ≤5.7 checked
     * {@code KVM_FEATURE_ASYNC_PF}. A custom guest writes what it is told.
     */
    Action[] enableActions() {
        GuestConfig g = config;
        if ((g.apf() == GuestConfig.ApfMode.LINUX && !offersInt)
                || (g.apf() == GuestConfig.ApfMode.LINUX_LEGACY && !offersApf)) {
            return new Action[0];
        }
        long vmexit = offersPfVmexit ? ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT : 0;
        return switch (g.apf()) {
            case NEVER -> new Action[0];
            case LINUX_LEGACY -> new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, areaGpa
                    | ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_SEND_ALWAYS | vmexit)};
            case LINUX -> new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_INT, g.apfVector()),
                    new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, areaGpa | ApfMsr.KVM_ASYNC_PF_ENABLED
                            | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT | vmexit)};
            case CUSTOM -> new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_INT, g.apfVector()),
                    new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, areaGpa | g.enBits())};
        };
    }

    /** {@code kvm_pv_disable_apf}: EN = 0. */
    Action[] disableActions() {
        return new Action[]{new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_EN, 0)};
    }

    /** The page-ready ACK that ends {@code sysvec_kvm_asyncpf_interrupt}: the host may send the next one. */
    Action ackAction() {
        return new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_ACK, 1);
    }

    /** An APF MSR write is leaving the CPU: which area it registers, whether it enables, which vector. */
    void noteMsrWrite(Action.WrMsr w) {
        if (w.msr() == ApfMsr.MSR_KVM_ASYNC_PF_EN) {
            enabled = (w.value() & ApfMsr.KVM_ASYNC_PF_ENABLED) != 0;
            if (enabled) {
                areaGpa = w.value() & ~0x3fL; // EN = 0 leaves apf_reason where it is: the next enable writes it again
            }
        } else if (w.msr() == ApfMsr.MSR_KVM_ASYNC_PF_INT) {
            vectorInUse = (int) (w.value() & 0xff);
        }
    }
}
