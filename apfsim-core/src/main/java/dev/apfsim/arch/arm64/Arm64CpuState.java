package dev.apfsim.arch.arm64;

import dev.apfsim.arch.CpuState;

/**
 * The architectural state of an arm64 vCPU as far as async PF needs it. The generic part ({@link CpuState}):
 * {@code cpl} 3/0 is EL0/EL1, {@code interruptFlag} is PSTATE.I clear (DAIF unmasked), {@code paging} is
 * SCTLR_EL1.M. What arm64 adds is the program counter the host can read ({@code *vcpu_pc(vcpu)}) and
 * {@code VBAR_EL1}.
 *
 * <p>The PC is modelled by region, not instruction by instruction: the guest says which code it is running and
 * {@link #pc()} returns an address in that region. The three exception-handling regions are the non-reentrant
 * windows of Linux's arm64 entry code, where an exception would overwrite ELR_EL1/SPSR_EL1 before they are saved
 * or after they are restored:
 * <ul>
 *   <li>{@link Window#VECTORS}: the vector stub at VBAR_EL1 + offset (the only part RFCv2's guard covers);</li>
 *   <li>{@link Window#KERNEL_ENTRY}: {@code kernel_entry} in the el0/el1 handlers, until ELR_EL1/SPSR_EL1 are
 *       stored in {@code pt_regs};</li>
 *   <li>{@link Window#KERNEL_EXIT}: {@code kernel_exit} / {@code ret_to_user}, from restoring ELR_EL1/SPSR_EL1 to
 *       ERET. Marc Zyngier (seed 002): "the bulk of the non-reentrant exception entry work happens elsewhere, in
 *       a mixture of assembly and C code that isn't even virtually contiguous with either the vectors or
 *       itself."</li>
 * </ul>
 * The addresses are illustrative of a 5.7 arm64 kernel: only whether they fall inside
 * {@code [VBAR_EL1, VBAR_EL1 + no_fault_inst_range)} matters.
 */
public final class Arm64CpuState extends CpuState {
    /** {@code vectors} (2 KiB aligned, 16 entries of 0x80 bytes). */
    public static final long VECTORS = 0xffff800010010800L;
    /** {@code el0_sync}/{@code el1_sync} and friends, where {@code kernel_entry} is expanded: outside the vectors. */
    public static final long KERNEL_ENTRY_PC = 0xffff800010011400L;
    /** {@code ret_to_user} / {@code ret_to_kernel}, where {@code kernel_exit} is expanded. */
    public static final long KERNEL_EXIT_PC = 0xffff800010011e00L;
    /** Any other kernel text (handlers, scheduler, idle loop). */
    public static final long KERNEL_PC = 0xffff800010200000L;
    /** User text. */
    public static final long USER_PC = 0x400000L;

    /** A non-reentrant window of the exception entry/exit code, or none. */
    public enum Window {
        NONE("other"), VECTORS("vectors"), KERNEL_ENTRY("kernel_entry"), KERNEL_EXIT("kernel_exit");

        private final String key;

        Window(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }
    }

    /** VBAR_EL1, as the guest set it at boot. */
    public long vbarEl1 = VECTORS;
    /** Which exception entry/exit window the guest is in. */
    public Window window = Window.NONE;
    /** Offset of the vector being executed from VBAR_EL1 (0x200 sync from EL1h, 0x400 sync from EL0, +0x80 IRQ). */
    public int vectorOffset;

    /** {@code *vcpu_pc(vcpu)}: an address in the region the guest is executing. */
    public long pc() {
        return switch (window) {
            case VECTORS -> vbarEl1 + vectorOffset;
            case KERNEL_ENTRY -> KERNEL_ENTRY_PC;
            case KERNEL_EXIT -> KERNEL_EXIT_PC;
            case NONE -> cpl == 0 ? KERNEL_PC : USER_PC;
        };
    }

    /** The region's name for traces: user, kernel, vectors, kernel_entry, kernel_exit. */
    public String region() {
        return window != Window.NONE ? window.key() : cpl == 0 ? "kernel" : "user";
    }

    @Override
    public void reset() {
        super.reset();
        window = Window.NONE;
    }
}
