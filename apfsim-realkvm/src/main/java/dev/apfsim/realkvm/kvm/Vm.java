package dev.apfsim.realkvm.kvm;

import dev.apfsim.realkvm.ffi.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** A VM file descriptor: memory slots, the in-kernel irqchip, vCPUs. Closing it closes the vCPUs first. */
public final class Vm implements AutoCloseable {
    private final Kvm kvm;
    private final int fd;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final List<Integer> slots = new ArrayList<>();

    Vm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    public void createIrqchip() {
        Libc.ioctl(fd, KVM_CREATE_IRQCHIP, 0L, "KVM_CREATE_IRQCHIP");
    }

    /** KVM_SET_TSS_ADDR: three pages of guest-physical space VMX may use for real-mode emulation. */
    public void setTssAddr(long gpa) {
        Libc.ioctl(fd, KVM_SET_TSS_ADDR, gpa, "KVM_SET_TSS_ADDR");
    }

    /** KVM_SET_USER_MEMORY_REGION; a size of 0 deletes the slot. */
    public void setMemoryRegion(int slot, long gpa, long size, long hva) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(SIZEOF_KVM_USERSPACE_MEMORY_REGION, 8);
            r.set(JAVA_INT, MEMREGION_SLOT, slot);
            r.set(JAVA_INT, MEMREGION_FLAGS, 0);
            r.set(JAVA_LONG, MEMREGION_GPA, gpa);
            r.set(JAVA_LONG, MEMREGION_SIZE, size);
            r.set(JAVA_LONG, MEMREGION_UADDR, hva);
            Libc.ioctl(fd, KVM_SET_USER_MEMORY_REGION, r, "KVM_SET_USER_MEMORY_REGION slot " + slot);
        }
        if (size == 0) {
            slots.remove(Integer.valueOf(slot));
        } else if (!slots.contains(slot)) {
            slots.add(slot);
        }
    }

    /** Deletes every slot: after this no guest access can reach the host memory behind them. */
    public void deleteAllSlots() {
        for (Integer s : List.copyOf(slots)) {
            try {
                setMemoryRegion(s, 0, 0, 0);
            } catch (RuntimeException ignored) {
                // the VM is being torn down anyway; closing its fd drops the slot
            }
        }
    }

    public Vcpu createVcpu(int id) {
        int vfd = Libc.ioctl(fd, KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU " + id);
        Vcpu v = new Vcpu(id, vfd, kvm.vcpuMmapSize());
        vcpus.add(v);
        return v;
    }

    @Override
    public void close() {
        for (Vcpu v : vcpus) {
            v.close();
        }
        vcpus.clear();
        Libc.closeQuietly(fd);
    }
}
