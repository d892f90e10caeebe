package dev.apfsim.kvm.x86;

/** Why the guest stopped running: a VM exit, or a point the host must schedule (it never left the guest). */
public sealed interface GuestExit {
    /** Simulated time of the exit. */
    long at();

    /** Still in the guest: nothing to do before {@code at}, when the current compute ends. */
    record Continue(long at) implements GuestExit {
    }

    /** EPT/NPT violation (or shadow #PF) on a guest access. {@code gva} is the linear address. */
    record EptViolation(long at, long gpa, long gva, boolean write) implements GuestExit {
    }

    /** HLT. */
    record Hlt(long at) implements GuestExit {
    }

    record WrMsr(long at, int msr, long value) implements GuestExit {
    }

    record RdMsr(long at, int msr) implements GuestExit {
    }

    /**
     * HVC #0, an SMCCC call (arm64): {@code func} in x0 (e.g. {@code ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID}),
     * {@code arg} the 64-bit parameter (RFCv2 passes it in w1/w2).
     */
    record Hvc(long at, long func, long arg) implements GuestExit {
    }

    /** MOV to CR0 changing PG. */
    record Cr0Write(long at, boolean paging) implements GuestExit {
    }

    /** MOV to CR3 (exits under shadow paging). */
    record Cr3Write(long at, long cr3) implements GuestExit {
    }

    /** L1 enters L2 (VMLAUNCH/VMRESUME) or L2 exits to L1. */
    record NestedSwitch(long at, boolean enterL2) implements GuestExit {
    }

    /** LAPIC SPIV write changing the software-enable bit. */
    record SpivWrite(long at, boolean enabled) implements GuestExit {
    }

    /** The guest asked for an INIT of this vCPU (e.g. a CPU reset path). */
    record Init(long at) implements GuestExit {
    }

    /** IF became 1 with an interrupt pending: interrupt-window exit so the host injects it. */
    record IrqWindow(long at) implements GuestExit {
    }

    /** The guest cannot go on (panic): the host stops running it. */
    record Dead(long at) implements GuestExit {
    }
}
