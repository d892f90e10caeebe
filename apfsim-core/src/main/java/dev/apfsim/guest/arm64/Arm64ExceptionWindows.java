package dev.apfsim.guest.arm64;

import dev.apfsim.arch.arm64.Arm64Apf;
import dev.apfsim.arch.arm64.Arm64CpuState;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.EntryWindows;
import dev.apfsim.guest.Frame;
import dev.apfsim.trace.FtraceFormat;

/**
 * The non-reentrant windows of the arm64 entry code (seed thread 002) that every exception handler frame runs
 * through: the vector stub and {@code kernel_entry} before ELR_EL1/SPSR_EL1 are saved in {@code pt_regs},
 * {@code kernel_exit} after they are restored. It tracks the window in {@link Arm64CpuState#window} (what the host
 * reads as the PC) and reports a data abort injected inside one: {@code exception-state-clobbered}, then a panic.
 * Only an arm64 guest CPU has one.
 */
final class Arm64ExceptionWindows implements EntryWindows {
    /** arm64 vector stub: a few instructions, then a branch to the el0/el1 handler. */
    static final long VECTOR_STUB_NS = 20;
    /** arm64 {@code kernel_entry} until ELR_EL1 and SPSR_EL1 are stored in {@code pt_regs}. */
    static final long KERNEL_ENTRY_NS = 60;
    /** arm64 {@code kernel_exit}: ELR_EL1/SPSR_EL1 restored, registers reloaded, ERET. */
    static final long KERNEL_EXIT_NS = 60;

    private final Arm64Entry entry;
    private final Arm64CpuState arm;

    Arm64ExceptionWindows(Arm64Entry entry, Arm64CpuState arm) {
        this.entry = entry;
        this.arm = arm;
    }

    /**
     * Wraps a handler entered through VBAR_EL1: vector stub and {@code kernel_entry} before the body,
     * {@code kernel_exit} after it. {@code fromCpl} is the interrupted level, which picks the vector.
     */
    @Override
    public void addEntryAndExit(Frame f, Frame.Kind kind, int fromCpl) {
        // vectors: +0x200 sync / +0x280 IRQ from EL1h, +0x400 / +0x480 from 64-bit EL0
        int vectorOffset = (fromCpl == 0 ? 0x200 : 0x400) + (kind == Frame.Kind.INTERRUPT ? 0x80 : 0);
        f.prepend(new Action.Op((c, t) -> arm.window = Arm64CpuState.Window.NONE)); // ELR/SPSR saved
        f.prepend(new Action.Compute(KERNEL_ENTRY_NS));
        f.prepend(new Action.Op((c, t) -> arm.window = Arm64CpuState.Window.KERNEL_ENTRY));
        f.prepend(new Action.Compute(VECTOR_STUB_NS));
        f.prepend(new Action.Op((c, t) -> {
            arm.vectorOffset = vectorOffset;
            arm.window = Arm64CpuState.Window.VECTORS;
        }));
        addExit(f);
    }

    /** {@code kernel_exit}: restore ELR_EL1/SPSR_EL1, reload registers, ERET (the frame's IRET). */
    @Override
    public void addExit(Frame f) {
        f.append(new Action.Op((c, t) -> arm.window = Arm64CpuState.Window.KERNEL_EXIT));
        f.append(new Action.Compute(KERNEL_EXIT_NS));
    }

    /** ERET, or the handler frames were discarded: the CPU is outside the entry/exit code. */
    @Override
    public void leave() {
        arm.window = Arm64CpuState.Window.NONE;
    }

    /** The CPU is inside a window: an exception taken now would overwrite unsaved ELR_EL1/SPSR_EL1. */
    boolean open() {
        return arm.window != Arm64CpuState.Window.NONE;
    }

    /**
     * {@code kvm_inject_dabt} inside an {@link #open() open} window: the previous ELR_EL1/SPSR_EL1 were not saved
     * yet (vector stub, {@code kernel_entry}) or were already restored ({@code kernel_exit}), so they are lost.
     * {@code reason} is the guest's reason word, {@code top} the handler that was interrupted.
     */
    void clobbered(long now, long far, int reason, Frame top) {
        String where = arm.window.key() + " (pc " + FtraceFormat.hex(arm.pc()) + ") of " + describe(top);
        String what = reason == Arm64Apf.KVM_PV_REASON_PAGE_READY ? "page ready"
                : reason == Arm64Apf.KVM_PV_REASON_PAGE_NOT_PRESENT ? "page not present" : "reason " + reason;
        if (entry.isProbing()) {
            entry.probeClobbered(new dev.apfsim.trace.Probe.ExceptionStateClobbered(now, entry.cpuId(), "data abort (" + what
                    + ", token " + FtraceFormat.hex(far) + ") injected in " + where
                    + ": ELR_EL1/SPSR_EL1 of the interrupted context are overwritten"));
        }
        entry.panicNow(now, "exception state clobbered: data abort taken in " + arm.window.key()
                + ", ELR_EL1/SPSR_EL1 lost");
    }

    private static String describe(Frame f) {
        if (f == null) {
            return "no handler";
        }
        return switch (f.kind()) {
            case PAGE_FAULT -> "a data abort handler";
            case INTERRUPT -> "an interrupt handler";
            case SCHED -> "the return to user after a context switch";
            case SDEI -> "an SDEI handler";
            case BOOT -> "boot code";
            case NMI -> "an NMI handler";
            case HOTPLUG -> "a CPU hotplug callback";
        };
    }
}
