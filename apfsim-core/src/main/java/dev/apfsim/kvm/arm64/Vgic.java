package dev.apfsim.kvm.arm64;

import dev.apfsim.arch.InterruptController;

import java.util.Arrays;

/**
 * The part of the arm64 virtual GIC the model needs ({@code arch/arm64/kvm/vgic}): per-vCPU pending and active
 * state of SGIs/PPIs/SPIs, the CPU interface's enable, acknowledge and EOI. INTIDs are grouped in priority bands of
 * 16 (higher INTID, higher band), the same ordering the x86 LAPIC's priority classes give the model's vectors, so a
 * workload's interrupts are taken in the same order on both architectures.
 */
public final class Vgic implements InterruptController {
    private final long[] pending = new long[4];
    private final long[] active = new long[4];
    private boolean enabled = true;

    /** The CPU interface is enabled (ICC_IGRPEN1_EL1). */
    public boolean enabled() {
        return enabled;
    }

    public void setEnabled(boolean on) {
        enabled = on;
    }

    /** {@code kvm_vgic_inject_irq}: false if the CPU interface is disabled and the interrupt is dropped. */
    public boolean inject(int intid) {
        if (!enabled) {
            return false;
        }
        pending[intid >>> 6] |= 1L << (intid & 63);
        return true;
    }

    private static int highest(long[] bits) {
        for (int i = 3; i >= 0; i--) {
            if (bits[i] != 0) {
                return i * 64 + 63 - Long.numberOfLeadingZeros(bits[i]);
            }
        }
        return -1;
    }

    /** {@code kvm_vgic_vcpu_pending_irq}: a pending INTID in a band above the active one. */
    @Override
    public boolean hasInterrupt() {
        int p = highest(pending);
        return p >= 0 && (p >> 4) > (highest(active) >> 4) && enabled;
    }

    /** ICC_IAR1_EL1: the highest pending INTID becomes active. */
    public int acknowledge() {
        int v = highest(pending);
        pending[v >>> 6] &= ~(1L << (v & 63));
        active[v >>> 6] |= 1L << (v & 63);
        return v;
    }

    /** ICC_EOIR1_EL1: the highest active INTID is deactivated. */
    @Override
    public void eoi() {
        int v = highest(active);
        if (v >= 0) {
            active[v >>> 6] &= ~(1L << (v & 63));
        }
    }

    /** vCPU reset. */
    public void reset() {
        Arrays.fill(pending, 0);
        Arrays.fill(active, 0);
        enabled = true;
    }
}
