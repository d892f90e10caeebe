package dev.apfsim.kvm.x86;

/**
 * A minimal local APIC: software enable (SPIV bit 8), IRR and ISR for fixed-mode vectors, EOI. Priority is by
 * vector, as the APIC's priority classes order fixed interrupts.
 */
public final class Lapic implements dev.apfsim.arch.InterruptController {
    private final long[] irr = new long[4];
    private final long[] isr = new long[4];
    private boolean softwareEnabled = true;
    /** {@code MSR_IA32_APICBASE} bit 11 ({@code kvm_apic_hw_enabled}); not touched by INIT. */
    private boolean hardwareEnabled = true;

    /** {@code kvm_lapic_enabled}: present (in-kernel), hardware- and software-enabled. */
    public boolean enabled() {
        return softwareEnabled && hardwareEnabled;
    }

    public boolean hardwareEnabled() {
        return hardwareEnabled;
    }

    public void setHardwareEnabled(boolean on) {
        hardwareEnabled = on;
    }

    public void setSoftwareEnabled(boolean on) {
        softwareEnabled = on;
    }

    /** {@code __apic_accept_irq}, fixed mode: a software-disabled APIC drops the interrupt. */
    public boolean acceptFixed(int vector) {
        if (!enabled()) {
            return false;
        }
        irr[vector >>> 6] |= 1L << (vector & 63);
        return true;
    }

    public boolean irrSet(int vector) {
        return (irr[vector >>> 6] & (1L << (vector & 63))) != 0;
    }

    /** The vector is in service: delivered and not yet ended by an EOI. */
    public boolean isrSet(int vector) {
        return (isr[vector >>> 6] & (1L << (vector & 63))) != 0;
    }

    private static int highest(long[] bits) {
        for (int i = 3; i >= 0; i--) {
            if (bits[i] != 0) {
                return i * 64 + 63 - Long.numberOfLeadingZeros(bits[i]);
            }
        }
        return -1;
    }

    /** {@code kvm_cpu_has_interrupt}: a requested vector above the one in service. */
    @Override
    public boolean hasInterrupt() {
        int r = highest(irr);
        return r >= 0 && (r >> 4) > (highest(isr) >> 4) && enabled();
    }

    /** Moves the highest pending vector into service and returns it ({@code kvm_get_apic_interrupt}). */
    public int acknowledge() {
        int v = highest(irr);
        irr[v >>> 6] &= ~(1L << (v & 63));
        isr[v >>> 6] |= 1L << (v & 63);
        return v;
    }

    /** {@code apic_eoi}: ends the highest in-service vector. */
    @Override
    public void eoi() {
        int v = highest(isr);
        if (v >= 0) {
            isr[v >>> 6] &= ~(1L << (v & 63));
        }
    }

    /** {@code kvm_lapic_reset}: IRR and ISR cleared, SPIV 0xff (software-disabled unless told otherwise). */
    public void reset(boolean enabledAfterReset) {
        java.util.Arrays.fill(irr, 0);
        java.util.Arrays.fill(isr, 0);
        softwareEnabled = enabledAfterReset;
    }
}
