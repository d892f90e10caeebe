package dev.apfsim.arch;

/**
 * Why the guest stopped running: a VM exit, or a point the host must schedule (it never left the guest). The exits
 * every architecture has are here; each architecture's own are {@link ArchExit}s in its package.
 */
public sealed interface GuestExit permits GuestExit.Continue, GuestExit.MemoryFault, GuestExit.Hlt, GuestExit.Init,
        GuestExit.IrqWindow, GuestExit.Dead, GuestExit.PagingWrite, GuestExit.PgdWrite, GuestExit.IrqControllerEnable,
        GuestExit.NestedSwitch, GuestExit.ExternalInterrupt, ArchExit {
    /** Simulated time of the exit. */
    long at();

    /**
     * Still in the guest: nothing to do before {@link #at}, when the current compute ends. The most frequent answer
     * of a guest run, so each guest CPU keeps one and sets it anew: read it before that CPU runs again.
     */
    final class Continue implements GuestExit {
        private long at;

        public Continue at(long time) {
            this.at = time;
            return this;
        }

        @Override
        public long at() {
            return at;
        }

        @Override
        public String toString() {
            return "Continue[at=" + at + "]";
        }
    }

    /**
     * A guest access the second stage does not map: x86 EPT/NPT violation (or shadow #PF), arm64 stage-2 abort,
     * s390 DAT exception intercepted by SIE. {@code gva} is the guest virtual address.
     */
    record MemoryFault(long at, long gpa, long gva, boolean write) implements GuestExit {
    }

    /** The CPU waits for an interrupt: x86 HLT, arm64 WFI, s390 enabled wait PSW. */
    record Hlt(long at) implements GuestExit {
    }

    /** The guest asked for a reset of this vCPU (x86 INIT, arm64 PSCI CPU reset, s390 SIGP initial CPU reset). */
    record Init(long at) implements GuestExit {
    }

    /** Interrupts were unmasked with one pending: the exit that lets the host inject it (x86 interrupt window). */
    record IrqWindow(long at) implements GuestExit {
    }

    /** A write turning address translation on or off that the host intercepts: x86 CR0.PG, arm64 SCTLR_EL1.M. */
    record PagingWrite(long at, boolean paging) implements GuestExit {
    }

    /** A page-table root load the host intercepts: x86 CR3 under shadow paging, arm64 TTBR0_EL1 (HCR_EL2.TVM). */
    record PgdWrite(long at, long pgd) implements GuestExit {
    }

    /** The guest enables or disables its interrupt controller: x86 LAPIC SPIV bit 8, arm64 ICC_IGRPEN1_EL1. */
    record IrqControllerEnable(long at, boolean enabled) implements GuestExit {
    }

    /** The guest, as a hypervisor, enters its nested guest (x86 VMLAUNCH/VMRESUME) or the nested guest exits. */
    record NestedSwitch(long at, boolean enterL2) implements GuestExit {
    }

    /**
     * The host's kick (the IPI of {@code kvm_vcpu_kick}) forces the exit at this instruction boundary of the guest:
     * VMX's external-interrupt exit, at a boundary the checker chose a few instructions after the kick was sent
     * ({@link GuestCode#exitAtBoundary}). The next entry injects what is pending ({@code kvm_check_and_inject_events}).
     */
    record ExternalInterrupt(long at) implements GuestExit {
    }

    /** The guest cannot go on (panic): the host stops running it. */
    record Dead(long at) implements GuestExit {
    }
}
