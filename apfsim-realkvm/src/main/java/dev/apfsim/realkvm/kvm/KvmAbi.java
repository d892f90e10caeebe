package dev.apfsim.realkvm.kvm;

/**
 * The KVM and userfaultfd user ABI for x86-64, written out from {@code <linux/kvm.h>}, {@code <asm/kvm.h>},
 * {@code <asm/kvm_para.h>} and {@code <linux/userfaultfd.h>}. Each offset block names the struct it comes
 * from; ioctl numbers are built the way {@code <asm-generic/ioctl.h>} builds them, from the struct's size.
 */
public final class KvmAbi {
    private KvmAbi() {
    }

    private static final int IOC_NONE = 0, IOC_WRITE = 1, IOC_READ = 2;

    /** {@code _IOC(dir, type, nr, size)}. */
    static long ioc(int dir, int type, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    static long io(int type, int nr) {
        return ioc(IOC_NONE, type, nr, 0);
    }

    static long iow(int type, int nr, int size) {
        return ioc(IOC_WRITE, type, nr, size);
    }

    static long ior(int type, int nr, int size) {
        return ioc(IOC_READ, type, nr, size);
    }

    static long iowr(int type, int nr, int size) {
        return ioc(IOC_READ | IOC_WRITE, type, nr, size);
    }

    private static final int KVMIO = 0xAE;

    // ---- struct sizes (x86-64)
    public static final int SIZEOF_KVM_REGS = 144;          // struct kvm_regs: 18 x __u64
    public static final int SIZEOF_KVM_SREGS = 312;         // struct kvm_sregs
    public static final int SIZEOF_KVM_SEGMENT = 24;        // struct kvm_segment
    public static final int SIZEOF_KVM_CPUID2 = 8;          // struct kvm_cpuid2 header (nent, padding)
    public static final int SIZEOF_KVM_CPUID_ENTRY2 = 40;   // struct kvm_cpuid_entry2
    public static final int SIZEOF_KVM_USERSPACE_MEMORY_REGION = 32;
    public static final int SIZEOF_KVM_ENABLE_CAP = 104;    // struct kvm_enable_cap: cap, flags, args[4], pad[64]
    public static final int SIZEOF_KVM_MSRS = 8;            // struct kvm_msrs header (nmsrs, pad)
    public static final int SIZEOF_KVM_MSR_ENTRY = 16;      // struct kvm_msr_entry: index, reserved, data
    public static final int SIZEOF_KVM_SIGNAL_MASK = 4;     // struct kvm_signal_mask header (len)
    public static final int SIZEOF_KVM_MP_STATE = 4;        // struct kvm_mp_state

    // ---- system ioctls (on /dev/kvm)
    public static final long KVM_GET_API_VERSION = io(KVMIO, 0x00);
    public static final long KVM_CREATE_VM = io(KVMIO, 0x01);
    public static final long KVM_CHECK_EXTENSION = io(KVMIO, 0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(KVMIO, 0x04);
    public static final long KVM_GET_SUPPORTED_CPUID = iowr(KVMIO, 0x05, SIZEOF_KVM_CPUID2);
    // ---- VM ioctls
    public static final long KVM_CREATE_VCPU = io(KVMIO, 0x41);
    public static final long KVM_SET_USER_MEMORY_REGION = iow(KVMIO, 0x46, SIZEOF_KVM_USERSPACE_MEMORY_REGION);
    public static final long KVM_SET_TSS_ADDR = io(KVMIO, 0x47);
    public static final long KVM_CREATE_IRQCHIP = io(KVMIO, 0x60);
    // ---- vCPU ioctls (KVM_ENABLE_CAP is also a VM ioctl)
    public static final long KVM_RUN = io(KVMIO, 0x80);
    public static final long KVM_GET_REGS = ior(KVMIO, 0x81, SIZEOF_KVM_REGS);
    public static final long KVM_SET_REGS = iow(KVMIO, 0x82, SIZEOF_KVM_REGS);
    public static final long KVM_GET_SREGS = ior(KVMIO, 0x83, SIZEOF_KVM_SREGS);
    public static final long KVM_SET_SREGS = iow(KVMIO, 0x84, SIZEOF_KVM_SREGS);
    public static final long KVM_GET_MSRS = iowr(KVMIO, 0x88, SIZEOF_KVM_MSRS);
    public static final long KVM_SET_SIGNAL_MASK = iow(KVMIO, 0x8b, SIZEOF_KVM_SIGNAL_MASK);
    public static final long KVM_SET_CPUID2 = iow(KVMIO, 0x90, SIZEOF_KVM_CPUID2);
    public static final long KVM_SET_MP_STATE = iow(KVMIO, 0x99, SIZEOF_KVM_MP_STATE);
    public static final long KVM_ENABLE_CAP = iow(KVMIO, 0xa3, SIZEOF_KVM_ENABLE_CAP);

    // ---- capabilities (KVM_CHECK_EXTENSION)
    public static final int KVM_CAP_IRQCHIP = 0;
    public static final int KVM_CAP_ASYNC_PF = 59;
    public static final int KVM_CAP_ASYNC_PF_INT = 183;
    public static final int KVM_CAP_ENFORCE_PV_FEATURE_CPUID = 190;
    public static final int KVM_CAP_MEMORY_FAULT_INFO = 232;

    public static final int KVM_API_VERSION = 12;
    public static final int KVM_MP_STATE_RUNNABLE = 0;

    // ---- struct kvm_run (the mmap'ed vCPU page)
    public static final long RUN_REQUEST_INTERRUPT_WINDOW = 0; // __u8
    public static final long RUN_IMMEDIATE_EXIT = 1;           // __u8
    public static final long RUN_EXIT_REASON = 8;              // __u32
    public static final long RUN_IF_FLAG = 13;                 // __u8
    public static final long RUN_EXIT_UNION = 32;              // the exit-reason union
    //   .io: struct { __u8 direction; __u8 size; __u16 port; __u32 count; __u64 data_offset; }
    public static final long RUN_IO_DIRECTION = 32, RUN_IO_SIZE = 33, RUN_IO_PORT = 34, RUN_IO_COUNT = 36,
            RUN_IO_DATA_OFFSET = 40;
    //   .fail_entry: struct { __u64 hardware_entry_failure_reason; __u32 cpu; }
    public static final long RUN_FAIL_ENTRY_REASON = 32, RUN_FAIL_ENTRY_CPU = 40;
    //   .internal: struct { __u32 suberror; __u32 ndata; __u64 data[16]; }
    public static final long RUN_INTERNAL_SUBERROR = 32, RUN_INTERNAL_NDATA = 36, RUN_INTERNAL_DATA = 40;
    //   .memory_fault: struct { __u64 flags; __u64 gpa; __u64 size; }
    public static final long RUN_MEMORY_FAULT_GPA = 40, RUN_MEMORY_FAULT_SIZE = 48;
    //   .mmio: struct { __u64 phys_addr; __u8 data[8]; __u32 len; __u8 is_write; }
    public static final long RUN_MMIO_PHYS_ADDR = 32;

    public static final int KVM_EXIT_UNKNOWN = 0, KVM_EXIT_EXCEPTION = 1, KVM_EXIT_IO = 2, KVM_EXIT_HYPERCALL = 3,
            KVM_EXIT_DEBUG = 4, KVM_EXIT_HLT = 5, KVM_EXIT_MMIO = 6, KVM_EXIT_SHUTDOWN = 8,
            KVM_EXIT_FAIL_ENTRY = 9, KVM_EXIT_INTR = 10, KVM_EXIT_INTERNAL_ERROR = 17,
            KVM_EXIT_SYSTEM_EVENT = 24, KVM_EXIT_MEMORY_FAULT = 39;
    public static final int KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1;

    /** {@code kvm_run.exit_reason} by its KVM_EXIT_* name, as {@code kvm_userspace_exit} prints it. */
    public static String exitName(int reason) {
        return switch (reason) {
            case KVM_EXIT_UNKNOWN -> "KVM_EXIT_UNKNOWN";
            case KVM_EXIT_EXCEPTION -> "KVM_EXIT_EXCEPTION";
            case KVM_EXIT_IO -> "KVM_EXIT_IO";
            case KVM_EXIT_HYPERCALL -> "KVM_EXIT_HYPERCALL";
            case KVM_EXIT_DEBUG -> "KVM_EXIT_DEBUG";
            case KVM_EXIT_HLT -> "KVM_EXIT_HLT";
            case KVM_EXIT_MMIO -> "KVM_EXIT_MMIO";
            case KVM_EXIT_SHUTDOWN -> "KVM_EXIT_SHUTDOWN";
            case KVM_EXIT_FAIL_ENTRY -> "KVM_EXIT_FAIL_ENTRY";
            case KVM_EXIT_INTR -> "KVM_EXIT_INTR";
            case KVM_EXIT_INTERNAL_ERROR -> "KVM_EXIT_INTERNAL_ERROR";
            case KVM_EXIT_SYSTEM_EVENT -> "KVM_EXIT_SYSTEM_EVENT";
            case KVM_EXIT_MEMORY_FAULT -> "KVM_EXIT_MEMORY_FAULT";
            default -> "KVM_EXIT_" + reason;
        };
    }

    // ---- struct kvm_regs: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags, each __u64
    public static final long REGS_RAX = 0, REGS_RBX = 8, REGS_RCX = 16, REGS_RDX = 24, REGS_RSI = 32,
            REGS_RDI = 40, REGS_RSP = 48, REGS_RBP = 56, REGS_RIP = 128, REGS_RFLAGS = 136;

    // ---- struct kvm_sregs: cs ds es fs gs ss tr ldt (struct kvm_segment), gdt idt (struct kvm_dtable),
    //      cr0 cr2 cr3 cr4 cr8 efer apic_base, interrupt_bitmap[4]
    public static final long SREGS_CS = 0, SREGS_DS = 24, SREGS_ES = 48, SREGS_FS = 72, SREGS_GS = 96,
            SREGS_SS = 120, SREGS_TR = 144, SREGS_LDT = 168, SREGS_GDT = 192, SREGS_IDT = 208, SREGS_CR0 = 224,
            SREGS_CR2 = 232, SREGS_CR3 = 240, SREGS_CR4 = 248, SREGS_CR8 = 256, SREGS_EFER = 264,
            SREGS_APIC_BASE = 272;
    // ---- struct kvm_segment: __u64 base; __u32 limit; __u16 selector; __u8 type, present, dpl, db, s, l, g,
    //      avl, unusable, padding
    public static final long SEG_BASE = 0, SEG_LIMIT = 8, SEG_SELECTOR = 12, SEG_TYPE = 14, SEG_PRESENT = 15,
            SEG_DPL = 16, SEG_DB = 17, SEG_S = 18, SEG_L = 19, SEG_G = 20, SEG_AVL = 21, SEG_UNUSABLE = 22;
    // ---- struct kvm_dtable: __u64 base; __u16 limit; __u16 padding[3]
    public static final long DTABLE_BASE = 0, DTABLE_LIMIT = 8;

    // ---- struct kvm_cpuid_entry2: function, index, flags, eax, ebx, ecx, edx, padding[3] (all __u32)
    public static final long CPUID_FUNCTION = 0, CPUID_INDEX = 4, CPUID_FLAGS = 8, CPUID_EAX = 12, CPUID_EBX = 16,
            CPUID_ECX = 20, CPUID_EDX = 24;

    // ---- struct kvm_userspace_memory_region: __u32 slot, flags; __u64 guest_phys_addr, memory_size,
    //      userspace_addr
    public static final long MEMREGION_SLOT = 0, MEMREGION_FLAGS = 4, MEMREGION_GPA = 8, MEMREGION_SIZE = 16,
            MEMREGION_UADDR = 24;

    // ---- struct kvm_enable_cap: __u32 cap, flags; __u64 args[4]; __u8 pad[64]
    public static final long ENABLE_CAP_CAP = 0, ENABLE_CAP_ARGS = 8;

    // ---- <asm/kvm_para.h>
    public static final int KVM_CPUID_SIGNATURE = 0x40000000;
    public static final int KVM_CPUID_FEATURES = 0x40000001;
    public static final int KVM_FEATURE_ASYNC_PF = 4, KVM_FEATURE_ASYNC_PF_VMEXIT = 10, KVM_FEATURE_ASYNC_PF_INT = 14;
    public static final int MSR_KVM_ASYNC_PF_EN = 0x4b564d02, MSR_KVM_ASYNC_PF_INT = 0x4b564d06,
            MSR_KVM_ASYNC_PF_ACK = 0x4b564d07;
    public static final long KVM_ASYNC_PF_ENABLED = 1, KVM_ASYNC_PF_SEND_ALWAYS = 2,
            KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT = 4, KVM_ASYNC_PF_DELIVERY_AS_INT = 8;
    public static final int KVM_PV_REASON_PAGE_NOT_PRESENT = 1;
    /** {@code struct kvm_vcpu_pv_apf_data}: __u32 flags; __u32 token; __u8 pad[56] (64-byte aligned). */
    public static final int APF_DATA_FLAGS = 0, APF_DATA_TOKEN = 4, APF_DATA_SIZE = 64;

    // ---- <linux/userfaultfd.h>
    private static final int UFFDIO = 0xAA;
    public static final long UFFD_API = 0xAA;
    public static final long UFFD_FEATURE_SIGBUS = 1L << 7, UFFD_FEATURE_THREAD_ID = 1L << 8;
    public static final long UFFDIO_REGISTER_MODE_MISSING = 1;
    public static final int SIZEOF_UFFDIO_API = 24;      // struct uffdio_api: api, features, ioctls
    public static final int SIZEOF_UFFDIO_REGISTER = 32; // struct uffdio_register: range{start,len}, mode, ioctls
    public static final int SIZEOF_UFFDIO_RANGE = 16;    // struct uffdio_range: start, len
    public static final int SIZEOF_UFFDIO_COPY = 40;     // struct uffdio_copy: dst, src, len, mode, copy
    public static final int SIZEOF_UFFD_MSG = 32;        // struct uffd_msg
    public static final long UFFDIO_API = iowr(UFFDIO, 0x3F, SIZEOF_UFFDIO_API);
    public static final long UFFDIO_REGISTER = iowr(UFFDIO, 0x00, SIZEOF_UFFDIO_REGISTER);
    public static final long UFFDIO_UNREGISTER = ior(UFFDIO, 0x01, SIZEOF_UFFDIO_RANGE);
    public static final long UFFDIO_WAKE = ior(UFFDIO, 0x02, SIZEOF_UFFDIO_RANGE);
    public static final long UFFDIO_COPY = iowr(UFFDIO, 0x03, SIZEOF_UFFDIO_COPY);
    // struct uffd_msg: __u8 event; ...; arg.pagefault { __u64 flags; __u64 address; union { __u32 ptid; } feat; }
    public static final long UFFD_MSG_EVENT = 0, UFFD_MSG_PF_FLAGS = 8, UFFD_MSG_PF_ADDRESS = 16,
            UFFD_MSG_PF_PTID = 24;
    public static final int UFFD_EVENT_PAGEFAULT = 0x12;
    public static final long UFFD_PAGEFAULT_FLAG_WRITE = 1;
    // struct uffdio_copy offsets
    public static final long UFFDIO_COPY_DST = 0, UFFDIO_COPY_SRC = 8, UFFDIO_COPY_LEN = 16, UFFDIO_COPY_MODE = 24,
            UFFDIO_COPY_COPY = 32;
}
