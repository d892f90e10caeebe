package dev.apfsim.realkvm.kvm;

import dev.apfsim.realkvm.ffi.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** A vCPU file descriptor and its mmap'ed {@code struct kvm_run}. */
public final class Vcpu implements AutoCloseable {
    private final int id;
    private final int fd;
    private final MemorySegment run;
    private final long runSize;
    private boolean closed;

    Vcpu(int id, int fd, int mmapSize) {
        this.id = id;
        this.fd = fd;
        this.runSize = mmapSize;
        MemorySegment r;
        try {
            r = Libc.mmap(0, mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        } catch (RuntimeException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
        this.run = r;
    }

    public int id() {
        return id;
    }

    /** The shared {@code struct kvm_run}. */
    public MemorySegment run() {
        return run;
    }

    public void setCpuid(List<CpuidEntry> entries) {
        try (Arena a = Arena.ofConfined()) {
            Libc.ioctl(fd, KVM_SET_CPUID2, Kvm.writeCpuid(a, entries), "KVM_SET_CPUID2");
        }
    }

    /** KVM_ENABLE_CAP on this vCPU with args[0] = arg. */
    public void enableCap(int cap, long arg) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(SIZEOF_KVM_ENABLE_CAP, 8);
            c.set(JAVA_INT, ENABLE_CAP_CAP, cap);
            c.set(JAVA_LONG, ENABLE_CAP_ARGS, arg);
            Libc.ioctl(fd, KVM_ENABLE_CAP, c, "KVM_ENABLE_CAP " + cap);
        }
    }

    /** KVM_SET_SIGNAL_MASK: the signal mask in force while the thread is inside KVM_RUN (8-byte kernel set). */
    public void setSignalMask(long kernelSigset) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(SIZEOF_KVM_SIGNAL_MASK + 8, 8);
            m.set(JAVA_INT, 0, 8);
            m.set(JAVA_LONG.withByteAlignment(4), 4, kernelSigset);
            Libc.ioctl(fd, KVM_SET_SIGNAL_MASK, m, "KVM_SET_SIGNAL_MASK");
        }
    }

    /** With an in-kernel irqchip every vCPU but the BSP starts waiting for INIT/SIPI; make it runnable. */
    public void setRunnable() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(SIZEOF_KVM_MP_STATE, 4);
            m.set(JAVA_INT, 0, KVM_MP_STATE_RUNNABLE);
            Libc.ioctl(fd, KVM_SET_MP_STATE, m, "KVM_SET_MP_STATE");
        }
    }

    /** KVM_SET_SREGS and KVM_SET_REGS straight into 64-bit long mode. */
    public void enterLongMode(LongModeEntry e) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(SIZEOF_KVM_SREGS, 8);
            Libc.ioctl(fd, KVM_GET_SREGS, s, "KVM_GET_SREGS");
            segment(s, SREGS_CS, e.codeSelector(), 0xb, true);
            for (long off : new long[] {SREGS_DS, SREGS_ES, SREGS_FS, SREGS_GS, SREGS_SS}) {
                segment(s, off, e.dataSelector(), 0x3, false);
            }
            // the TSS: a busy 64-bit TSS (type 11), a system segment
            long tr = SREGS_TR;
            s.set(JAVA_LONG, tr + SEG_BASE, e.tssBase());
            s.set(JAVA_INT, tr + SEG_LIMIT, e.tssLimit());
            s.set(JAVA_SHORT, tr + SEG_SELECTOR, (short) e.tssSelector());
            s.set(JAVA_BYTE, tr + SEG_TYPE, (byte) 0xb);
            s.set(JAVA_BYTE, tr + SEG_PRESENT, (byte) 1);
            s.set(JAVA_BYTE, tr + SEG_DPL, (byte) 0);
            s.set(JAVA_BYTE, tr + SEG_DB, (byte) 0);
            s.set(JAVA_BYTE, tr + SEG_S, (byte) 0);
            s.set(JAVA_BYTE, tr + SEG_L, (byte) 0);
            s.set(JAVA_BYTE, tr + SEG_G, (byte) 0);
            s.set(JAVA_BYTE, tr + SEG_UNUSABLE, (byte) 0);
            s.set(JAVA_LONG, SREGS_GDT + DTABLE_BASE, e.gdtBase());
            s.set(JAVA_SHORT, SREGS_GDT + DTABLE_LIMIT, (short) e.gdtLimit());
            s.set(JAVA_LONG, SREGS_IDT + DTABLE_BASE, e.idtBase());
            s.set(JAVA_SHORT, SREGS_IDT + DTABLE_LIMIT, (short) e.idtLimit());
            s.set(JAVA_LONG, SREGS_CR0, e.cr0());
            s.set(JAVA_LONG, SREGS_CR3, e.cr3());
            s.set(JAVA_LONG, SREGS_CR4, e.cr4());
            s.set(JAVA_LONG, SREGS_EFER, e.efer());
            Libc.ioctl(fd, KVM_SET_SREGS, s, "KVM_SET_SREGS");

            MemorySegment r = a.allocate(SIZEOF_KVM_REGS, 8);
            r.set(JAVA_LONG, REGS_RIP, e.rip());
            r.set(JAVA_LONG, REGS_RSP, e.rsp());
            r.set(JAVA_LONG, REGS_RFLAGS, e.rflags());
            Libc.ioctl(fd, KVM_SET_REGS, r, "KVM_SET_REGS");
        }
    }

    /** A flat 64-bit code segment (l=1) or a flat data segment (db=1), both present, DPL 0. */
    private static void segment(MemorySegment s, long off, int selector, int type, boolean code) {
        s.set(JAVA_LONG, off + SEG_BASE, 0);
        s.set(JAVA_INT, off + SEG_LIMIT, 0xffffffff);
        s.set(JAVA_SHORT, off + SEG_SELECTOR, (short) selector);
        s.set(JAVA_BYTE, off + SEG_TYPE, (byte) type);
        s.set(JAVA_BYTE, off + SEG_PRESENT, (byte) 1);
        s.set(JAVA_BYTE, off + SEG_DPL, (byte) 0);
        s.set(JAVA_BYTE, off + SEG_DB, (byte) (code ? 0 : 1));
        s.set(JAVA_BYTE, off + SEG_S, (byte) 1);
        s.set(JAVA_BYTE, off + SEG_L, (byte) (code ? 1 : 0));
        s.set(JAVA_BYTE, off + SEG_G, (byte) 1);
        s.set(JAVA_BYTE, off + SEG_UNUSABLE, (byte) 0);
    }

    /** Registers for a diagnostic line when a run ends in an unexpected way. */
    public record Snapshot(long rip, long rsp, long rflags, long rax, long rbx, long rcx, long rdx, long cr0,
                           long cr2, long cr3, long cr4, long efer, int cs) {
        @Override
        public String toString() {
            return String.format("rip=%#x rsp=%#x rflags=%#x rax=%#x rbx=%#x rcx=%#x rdx=%#x cs=%#x cr0=%#x"
                            + " cr2=%#x cr3=%#x cr4=%#x efer=%#x", rip, rsp, rflags, rax, rbx, rcx, rdx, cs, cr0,
                    cr2, cr3, cr4, efer);
        }
    }

    public Snapshot snapshot() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(SIZEOF_KVM_REGS, 8);
            MemorySegment s = a.allocate(SIZEOF_KVM_SREGS, 8);
            Libc.ioctl(fd, KVM_GET_REGS, r, "KVM_GET_REGS");
            Libc.ioctl(fd, KVM_GET_SREGS, s, "KVM_GET_SREGS");
            return new Snapshot(r.get(JAVA_LONG, REGS_RIP), r.get(JAVA_LONG, REGS_RSP),
                    r.get(JAVA_LONG, REGS_RFLAGS), r.get(JAVA_LONG, REGS_RAX), r.get(JAVA_LONG, REGS_RBX),
                    r.get(JAVA_LONG, REGS_RCX), r.get(JAVA_LONG, REGS_RDX), s.get(JAVA_LONG, SREGS_CR0),
                    s.get(JAVA_LONG, SREGS_CR2), s.get(JAVA_LONG, SREGS_CR3), s.get(JAVA_LONG, SREGS_CR4),
                    s.get(JAVA_LONG, SREGS_EFER), Short.toUnsignedInt(s.get(JAVA_SHORT, SREGS_CS + SEG_SELECTOR)));
        }
    }

    /** One KVM_RUN: 0, or -errno (EINTR when a signal ended it, EFAULT when guest memory could not be had). */
    public int runOnce() {
        int r = Libc.ioctlRaw(fd, KVM_RUN, MemorySegment.NULL);
        return r < 0 ? -Libc.lastErrno() : r;
    }

    public int exitReason() {
        return run.get(JAVA_INT, RUN_EXIT_REASON);
    }

    /** Makes the next (or the current, once a signal kicks it) KVM_RUN return EINTR at once. */
    public void setImmediateExit(boolean on) {
        run.set(JAVA_BYTE, RUN_IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                Libc.munmap(run.address(), runSize);
            } catch (RuntimeException ignored) {
                // the fd close below still frees the vCPU
            }
            Libc.closeQuietly(fd);
        }
    }
}
