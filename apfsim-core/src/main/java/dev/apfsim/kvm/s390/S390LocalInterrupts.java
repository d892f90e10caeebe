package dev.apfsim.kvm.s390;

import dev.apfsim.arch.InterruptController;

/**
 * The vCPU's other external interruptions ({@code vcpu->arch.local_int}: clock comparator, emergency signal,
 * external call, the model's device interrupts), kept by the vector number the guest kernel uses for them. s390 has
 * no end-of-interrupt: taking one clears it, and the external mask in the PSW keeps the next out until the handler
 * returns. The highest number is taken first, as on the model's other interrupt controllers.
 */
final class S390LocalInterrupts implements InterruptController {
    private final long[] pending = new long[4];

    void inject(int vector) {
        pending[vector >>> 6] |= 1L << (vector & 63);
    }

    @Override
    public boolean hasInterrupt() {
        for (long p : pending) {
            if (p != 0) {
                return true;
            }
        }
        return false;
    }

    int take() {
        for (int i = 3; i >= 0; i--) {
            if (pending[i] != 0) {
                int v = i * 64 + 63 - Long.numberOfLeadingZeros(pending[i]);
                pending[i] &= ~(1L << (v & 63));
                return v;
            }
        }
        return -1;
    }

    /** Nothing to end: an s390 external interruption is done when it is taken. */
    @Override
    public void eoi() {
    }

    void reset() {
        java.util.Arrays.fill(pending, 0);
    }
}
