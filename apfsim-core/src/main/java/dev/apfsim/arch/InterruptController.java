package dev.apfsim.arch;

/**
 * The guest's side of its interrupt controller (x86 LAPIC, arm64 GIC CPU interface, s390 has none: the model's
 * external-interrupt queue): end the interrupt in service, and whether one is pending above it.
 */
public interface InterruptController {
    /** End of interrupt (x86 EOI register write, arm64 ICC_EOIR1_EL1). */
    void eoi();

    /** An interrupt is pending that the CPU would take now were interrupts unmasked. */
    boolean hasInterrupt();
}
