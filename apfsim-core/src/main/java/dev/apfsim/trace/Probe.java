package dev.apfsim.trace;

/**
 * Observation points of the model, like kprobes: fired where something worth checking happens, delivered at once
 * (synchronously, before the model goes on) to the {@link ProbeListener}s that asked, never part of the canonical
 * stream or the fingerprint. The checker ({@code dev.apfsim.check}) attaches here; the model knows nothing of it.
 * Each record carries what an observer cannot read afterwards (a value about to be overwritten, the MMU context of
 * the moment); the rest it reads through the model's read-only views.
 */
public sealed interface Probe {
    /** {@code kvm_arch_setup_async_pf} allocated {@code token} for {@code gfn}, before the item is queued. */
    record AsyncPfSetup(int vcpu, int token, long gfn) implements Probe {
    }

    /**
     * x86 {@code kvm_arch_async_page_not_present} is injecting an async #PF in this mode; {@code irqsAllowed}: the
     * guest had IF=1 and no interrupt shadow when it faulted.
     */
    record NotPresentInjected(int vcpu, long token, boolean guestMode, boolean paging, boolean irqsAllowed)
            implements Probe {
    }

    /** Which word of the shared APF area the host writes. */
    enum Word { REASON, TOKEN }

    /** The host is about to write {@code value} to a shared APF word that now holds {@code old}. */
    record SharedWordWrite(int vcpu, Word word, int old, int value) implements Probe {
    }

    /** Page-ready for {@code token} is being injected; {@code pending} says one was still unacknowledged. */
    record PageReadyInjected(int vcpu, long token, boolean pending) implements Probe {
    }

    /** A software-disabled interrupt controller dropped {@code vector}, the page-ready vector with one pending. */
    record PageReadyDropped(int vcpu, int vector) implements Probe {
    }

    /**
     * The vCPU exits to the host (any exit: its handling starts). One instance per vCPU is fired again and again,
     * so counting exits allocates nothing.
     */
    record VmExit(int vcpu) implements Probe {
    }

    /** A HLT exit (the vCPU will re-check whether it can block); {@code doneSize} completions wait. */
    record HaltExit(int vcpu, int doneSize) implements Probe {
    }

    /** The vCPU blocked, or an event was injected: a HLT that returned at once was not a busy loop. */
    record HaltProgress(int vcpu) implements Probe {
    }

    /** The MMU context of a fault and of its prefault ({@code kvm_arch_async_page_ready}), before mapping. */
    record Prefault(int vcpu, long gfn, boolean faultDirect, long faultCr3, boolean faultGuestMode,
                    boolean nowDirect, long nowCr3, boolean nowGuestMode) implements Probe {
    }

    /**
     * The guest's wake-all ({@code apf_task_wake_all}) on {@code cpu} unhashes the sleeper table node of
     * {@code token} that a task on {@code nodeCpu} registered; {@code task} is its task id, or -1 for a dummy node.
     */
    record WakeAllUnhashed(long time, int cpu, int nodeCpu, long token, int task) implements Probe {
    }

    /** The host enters an async PF notification carrying {@code token} into the guest (any architecture). */
    record NotificationDelivered(int vcpu, long token) implements Probe {
    }

    /** The guest entered a fault handler; {@code fault} names it until it is classified. */
    record GuestFaultEntered(long time, int cpu, long fault) implements Probe {
    }

    /** Where the guest classified a fault. */
    enum Site { X86_PF, ARM64_ABORT, NESTED_EXIT, L2_PF }

    /** The guest read its APF reason ({@code flags}) for fault {@code fault} at {@code address}. */
    record GuestFaultClassified(long time, int cpu, long fault, Site site, int flags, long address)
            implements Probe {
    }

    /** arm64: a data abort was taken inside a non-reentrant window of the entry code (ELR_EL1/SPSR_EL1 lost). */
    record ExceptionStateClobbered(long time, int cpu, String detail) implements Probe {
    }

    /** The guest kernel hit a {@code WARN_ON} of its async PF code (it logs a splat and goes on). */
    record GuestWarning(long time, int cpu, String detail) implements Probe {
    }
}
