package dev.apfsim.arch.s390;

import dev.apfsim.arch.CpuState;

/**
 * The architectural state of an s390 vCPU as far as pfault needs it (the guest PSW and CR0 in the SIE control
 * block). The generic part ({@link CpuState}): {@code cpl} 3/0 is problem/supervisor state (PSW bit 15),
 * {@code interruptFlag} the external-interrupt mask (PSW bit 7), {@code paging} DAT (PSW bit 5).
 */
public final class S390CpuState extends CpuState {
    /** Kernel text, where the PSW address points in supervisor state (illustrative). */
    public static final long KERNEL_PSW_ADDR = 0x0000000000100000L;
    /** User text. */
    public static final long USER_PSW_ADDR = 0x000002aa00001000L;

    /** CR0 bit 9 ({@code CR0_SERVICE_SIGNAL_SUBMASK}): the service-signal external subclass is enabled. */
    public boolean cr0ServiceSignal;

    /** {@code sie_block->gpsw.mask}: EXT, I/O and machine-check masks when enabled, DAT, problem state, 64-bit. */
    public long pswMask() {
        long m = S390Pfault.PSW_MASK_EA | S390Pfault.PSW_MASK_BA;
        if (interruptFlag) {
            m |= S390Pfault.PSW_MASK_EXT | S390Pfault.PSW_MASK_IO | S390Pfault.PSW_MASK_MCHECK;
        }
        if (paging) {
            m |= S390Pfault.PSW_MASK_DAT;
        }
        if (cpl == 3) {
            m |= S390Pfault.PSW_MASK_PSTATE;
        }
        return m;
    }

    /** {@code sie_block->gpsw.addr}: an address in the code the guest runs. */
    public long pswAddr() {
        return cpl == 3 ? USER_PSW_ADDR : KERNEL_PSW_ADDR;
    }

    @Override
    public void reset() {
        super.reset();
        cr0ServiceSignal = false;
    }
}
