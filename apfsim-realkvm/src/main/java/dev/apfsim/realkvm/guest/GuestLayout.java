package dev.apfsim.realkvm.guest;

/**
 * Where everything lives in guest-physical memory. The guest is identity-mapped (GVA = GPA) with 2 MiB pages
 * over the first GiB, and every page has U=1: a software backend that runs guest kernel code at hardware
 * CPL3 (kvm_pvm) cannot run a U=0 page natively, and on VMX/SVM U=1 costs nothing without SMEP/SMAP.
 * Slot 0 is the resident memory below {@link #RESIDENT_SIZE}; remote regions get their own slots above it.
 */
public final class GuestLayout {
    private GuestLayout() {
    }

    public static final int MAX_VCPUS = 4;

    public static final long PML4 = 0x1000;
    public static final long PDPT = 0x2000;
    /** Maps 0-1 GiB with 2 MiB pages. */
    public static final long PD_LOW = 0x3000;
    /** Maps 3-4 GiB, for the xAPIC page at 0xfee00000 (uncached). */
    public static final long PD_APIC = 0x4000;
    /** The page holding every vCPU's APF area by default (vCPU i at +64*i). */
    public static final long APF_PAGE = 0x5000;
    /**
     * End of the pages an APF area may lie in ({@link #APF_PAGE} up to here): the scenario's guest chooses it,
     * and the model's Linux-like guest puts it at 0x9000.
     */
    public static final long APF_LIMIT = 0xa000;
    /** One page per vCPU for kvm_pvm's virtual-IF cell ({@code u8 if_; u8 pending; u8 pad[6]; u64 cr2}). */
    public static final long VIF_BASE = 0x80000;
    public static final long TSS_BASE = 0xa000;
    public static final long GDT_BASE = 0xa800;
    public static final long IDT_BASE = 0xb000;
    /** Per-vCPU variables of the generated kernel (see {@link #vars}). */
    public static final long VARS_BASE = 0xf000;
    public static final long CODE_BASE = 0x10000;
    public static final long CODE_SIZE = 0x8000;
    public static final long STACKS_BASE = 0x40000;
    /** A resident page a program may touch without any fault. */
    public static final long SCRATCH_PAGE = 0x1f0000;
    public static final long RESIDENT_SIZE = 0x200000;
    public static final long MAPPED_LIMIT = 1L << 30;
    public static final long XAPIC_BASE = 0xfee00000L;

    /** Three pages outside every slot for VMX's KVM_SET_TSS_ADDR. */
    public static final long VMX_TSS_ADDR = 0xfffbd000L;

    public static final int GDT_ENTRIES = 7;
    public static final int SEL_KERNEL_CODE = 0x08, SEL_KERNEL_DATA = 0x10, SEL_USER_DATA = 0x18 | 3,
            SEL_USER_CODE = 0x20 | 3, SEL_TSS = 0x28;

    public static long vif(int v) {
        return VIF_BASE + 0x1000L * v;
    }

    public static long tss(int v) {
        return TSS_BASE + 0x80L * v;
    }

    public static long gdt(int v) {
        return GDT_BASE + 0x80L * v;
    }

    public static long idt(int v) {
        return IDT_BASE + 0x1000L * v;
    }

    public static long vars(int v) {
        return VARS_BASE + 0x100L * v;
    }

    /** The token the spinning #PF handler waits for; 0 when it waits for none. */
    public static long waitingToken(int v) {
        return vars(v);
    }

    /** Where the #UD gate resumes the kernel after a CPL3 block. */
    public static long resumeKernel(int v) {
        return vars(v) + 8;
    }

    public static long code(int v) {
        return CODE_BASE + CODE_SIZE * v;
    }

    public static long kernelStackTop(int v) {
        return STACKS_BASE + 0x10000L * v + 0x8000;
    }

    public static long userStackTop(int v) {
        return STACKS_BASE + 0x10000L * v + 0x10000;
    }

    public static boolean isScratch(long gva) {
        return gva >= SCRATCH_PAGE && gva < SCRATCH_PAGE + 4096;
    }
}
