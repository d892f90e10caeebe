package dev.apfsim.perturb;

/**
 * A "dangerous" guest event injected at a chosen time on a chosen CPU, biased toward the interleavings the seed
 * threads worry about. It runs in a kernel context entered through an IPI (vector {@link #VECTOR}), so it shows
 * in traces as {@code kvm_apic_accept_irq ... vec 241}.
 */
public record Perturbation(long timeNs, int cpu, Kind kind, long durationNs) {
    public static final int VECTOR = 0xf1;
    /** Vector of the device interrupts of an {@link Kind#IRQ_STORM}. */
    public static final int DEVICE_VECTOR = 0x41;

    public enum Kind {
        /** Interrupts off for the duration (an IRQ-off window, e.g. just before a completion). */
        IRQ_OFF("irq-off"),
        /** LAPIC software-disabled for the duration (SPIV). */
        LAPIC_OFF("lapic-off"),
        /** CR0.PG cleared for the duration (an SMM-like excursion). */
        PG_TOGGLE("pg-toggle"),
        /** APF disabled and re-enabled, as CPU offline/online does (with the guest's wake-all of its sleepers). */
        MSR_REENABLE("msr-reenable"),
        /** The CPU goes offline (APF off, sleepers woken) and takes an INIT; the guest re-enables APF. */
        RESET("reset"),
        /** A regular (guest page-table) #PF right away. */
        REGULAR_PF("regular-pf"),
        /** The guest, as L1, runs its L2 for the duration (nested guest mode). */
        NESTED("nested"),
        /** A different guest page table (CR3) for the duration. */
        CR3_SWITCH("cr3-switch"),
        /** The VMM migrates the vCPU: state saved and restored, host-only async PF state lost (seed 000). */
        MIGRATE("migrate"),
        /**
         * (host side, like {@code migrate}) a burst of device interrupts, one every 1-4 µs for the duration (a busy
         * NIC): each kicks the vCPU out of the guest and is handled through the guest's exception entry and exit
         * code. Seed 002: exits that land in those windows are where a notification can clobber them.
         */
        IRQ_STORM("irq-storm"),
        /**
         * (host side, x86) an NMI ({@code kvm_inject_nmi}): a perf NMI whose handler walks the interrupted task's user
         * stack and takes a kernel-mode #PF there ({@code copy_from_user_nmi}); inside an async #PF's entry this is
         * where {@code __kvm_handle_async_pf}'s order of checks matters (guest.version).
         */
        NMI("nmi"),
        /** CPU hotplug takes the CPU down: {@code kvm_cpu_down_prepare} (a no-op on a CPU that is down). */
        CPU_OFFLINE("cpu-offline"),
        /** CPU hotplug brings the CPU back: {@code kvm_cpu_online} (a no-op on a CPU that is up). */
        CPU_ONLINE("cpu-online");

        private final String key;

        Kind(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }

        public static Kind fromKey(String k) {
            for (Kind x : values()) {
                if (x.key.equals(k)) {
                    return x;
                }
            }
            throw new IllegalArgumentException("unknown perturbation " + k);
        }
    }
}
