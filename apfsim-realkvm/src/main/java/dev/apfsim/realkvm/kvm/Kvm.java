package dev.apfsim.realkvm.kvm;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;
import dev.apfsim.realkvm.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** An open {@code /dev/kvm}: the system ioctls. */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    private final int fd;

    private Kvm(int fd) {
        this.fd = fd;
    }

    public static Kvm open() {
        return open(DEVICE);
    }

    public static Kvm open(String device) {
        return new Kvm(Libc.open(device, Libc.O_RDWR | Libc.O_CLOEXEC));
    }

    public int apiVersion() {
        return Libc.ioctl(fd, KVM_GET_API_VERSION, 0L, "KVM_GET_API_VERSION");
    }

    public int checkExtension(int cap) {
        return Libc.ioctl(fd, KVM_CHECK_EXTENSION, cap, "KVM_CHECK_EXTENSION");
    }

    public int vcpuMmapSize() {
        return Libc.ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0L, "KVM_GET_VCPU_MMAP_SIZE");
    }

    /** KVM_GET_SUPPORTED_CPUID, growing the buffer while the kernel answers E2BIG. */
    public List<CpuidEntry> supportedCpuid() {
        for (int nent = 64; nent <= 1024; nent *= 2) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(SIZEOF_KVM_CPUID2 + (long) nent * SIZEOF_KVM_CPUID_ENTRY2, 8);
                buf.set(JAVA_INT, 0, nent);
                try {
                    Libc.ioctl(fd, KVM_GET_SUPPORTED_CPUID, buf, "KVM_GET_SUPPORTED_CPUID");
                } catch (NativeException e) {
                    if (e.errno() == Errno.E2BIG) {
                        continue;
                    }
                    throw e;
                }
                return readCpuid(buf);
            }
        }
        throw new IllegalStateException("KVM_GET_SUPPORTED_CPUID wants more than 1024 entries");
    }

    static List<CpuidEntry> readCpuid(MemorySegment buf) {
        int n = buf.get(JAVA_INT, 0);
        List<CpuidEntry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long e = SIZEOF_KVM_CPUID2 + (long) i * SIZEOF_KVM_CPUID_ENTRY2;
            out.add(new CpuidEntry(buf.get(JAVA_INT, e + CPUID_FUNCTION), buf.get(JAVA_INT, e + CPUID_INDEX),
                    buf.get(JAVA_INT, e + CPUID_FLAGS), buf.get(JAVA_INT, e + CPUID_EAX),
                    buf.get(JAVA_INT, e + CPUID_EBX), buf.get(JAVA_INT, e + CPUID_ECX),
                    buf.get(JAVA_INT, e + CPUID_EDX)));
        }
        return out;
    }

    static MemorySegment writeCpuid(Arena a, List<CpuidEntry> entries) {
        MemorySegment buf = a.allocate(SIZEOF_KVM_CPUID2 + (long) entries.size() * SIZEOF_KVM_CPUID_ENTRY2, 8);
        buf.set(JAVA_INT, 0, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry c = entries.get(i);
            long e = SIZEOF_KVM_CPUID2 + (long) i * SIZEOF_KVM_CPUID_ENTRY2;
            buf.set(JAVA_INT, e + CPUID_FUNCTION, c.function());
            buf.set(JAVA_INT, e + CPUID_INDEX, c.index());
            buf.set(JAVA_INT, e + CPUID_FLAGS, c.flags());
            buf.set(JAVA_INT, e + CPUID_EAX, c.eax());
            buf.set(JAVA_INT, e + CPUID_EBX, c.ebx());
            buf.set(JAVA_INT, e + CPUID_ECX, c.ecx());
            buf.set(JAVA_INT, e + CPUID_EDX, c.edx());
        }
        return buf;
    }

    public Vm createVm() {
        int vmfd = Libc.ioctl(fd, KVM_CREATE_VM, 0L, "KVM_CREATE_VM");
        return new Vm(this, vmfd);
    }

    @Override
    public void close() {
        Libc.closeQuietly(fd);
    }
}
