package dev.apfsim.realkvm.kvm;

/**
 * The state a vCPU is put in before its first KVM_RUN: 64-bit long mode at CPL0 with paging on, flat
 * segments from the guest's own GDT, and its TSS loaded. No real-mode or protected-mode boot is run.
 */
public record LongModeEntry(long rip, long rsp, long rflags, long cr0, long cr3, long cr4, long efer,
                            long gdtBase, int gdtLimit, long idtBase, int idtLimit,
                            int codeSelector, int dataSelector, int tssSelector, long tssBase, int tssLimit) {
    public static final long CR0_PE = 1, CR0_MP = 1 << 1, CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_WP = 1 << 16,
            CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1 << 5, CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10;
    public static final long EFER_SCE = 1, EFER_LME = 1 << 8, EFER_LMA = 1 << 10;
    public static final long RFLAGS_RESERVED = 2, RFLAGS_IF = 1 << 9;
}
