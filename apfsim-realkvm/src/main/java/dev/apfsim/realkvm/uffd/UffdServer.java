package dev.apfsim.realkvm.uffd;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;
import dev.apfsim.realkvm.ffi.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The host side of the remote regions: one userfaultfd per region (MISSING mode, with UFFD_FEATURE_THREAD_ID
 * so each message names the faulting thread, and UFFD_FEATURE_SIGBUS for a {@link Backing.Sigbus} region),
 * served by one thread that answers each fault as the region's {@link Backing} says. Closing the server
 * closes the descriptors, which releases every thread still waiting in a fault.
 */
public final class UffdServer implements AutoCloseable {
    public static final long PAGE = 4096;

    private final class Region {
        final String name;
        final long hva;
        final long size;
        final long gpa;
        final Backing backing;
        final int fd;
        boolean gone; // unregistered or unmapped: no more messages, no more answers
        final Map<Long, Integer> wakes = new HashMap<>();

        Region(String name, long hva, long size, long gpa, Backing backing, int fd) {
            this.name = name;
            this.hva = hva;
            this.size = size;
            this.gpa = gpa;
            this.backing = backing;
            this.fd = fd;
        }
    }

    private record Pending(long dueNs, Region region, long pageHva, String action) implements Comparable<Pending> {
        @Override
        public int compareTo(Pending o) {
            return Long.compare(dueNs, o.dueNs);
        }
    }

    private final Arena arena = Arena.ofShared();
    private final List<Region> regions = new ArrayList<>();
    private final List<FaultRecord> faults = new ArrayList<>();
    private final List<ServiceRecord> services = new ArrayList<>();
    private final PriorityQueue<Pending> queue = new PriorityQueue<>();
    private volatile Map<Integer, Integer> vcpuTids = Map.of();
    private volatile boolean stop;
    private Thread thread;
    private RuntimeException failure;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Set<String> unmapped = new HashSet<>();

    /** Registers {@code mapping} (anonymous memory not yet touched) as the region at guest-physical {@code gpa}. */
    public void register(String name, MemorySegment mapping, long gpa, Backing backing) {
        long fdl = Libc.syscall(Libc.SYS_USERFAULTFD, Libc.O_CLOEXEC | Libc.O_NONBLOCK, 0, 0);
        if (fdl < 0) {
            throw new NativeException("userfaultfd", (int) -fdl);
        }
        int fd = (int) fdl;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment api = a.allocate(SIZEOF_UFFDIO_API, 8);
            api.set(JAVA_LONG, 0, UFFD_API);
            long features = UFFD_FEATURE_THREAD_ID | (backing instanceof Backing.Sigbus ? UFFD_FEATURE_SIGBUS : 0);
            api.set(JAVA_LONG, 8, features);
            Libc.ioctl(fd, UFFDIO_API, api, "UFFDIO_API");
            MemorySegment reg = a.allocate(SIZEOF_UFFDIO_REGISTER, 8);
            reg.set(JAVA_LONG, 0, mapping.address());
            reg.set(JAVA_LONG, 8, mapping.byteSize());
            reg.set(JAVA_LONG, 16, UFFDIO_REGISTER_MODE_MISSING);
            Libc.ioctl(fd, UFFDIO_REGISTER, reg, "UFFDIO_REGISTER " + name);
        } catch (RuntimeException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
        regions.add(new Region(name, mapping.address(), mapping.byteSize(), gpa, backing, fd));
    }

    /** Which kernel thread ids are vCPU threads (tid to vCPU index); set before the vCPUs run. */
    public void setVcpuThreads(Map<Integer, Integer> tidToVcpu) {
        this.vcpuTids = Map.copyOf(tidToVcpu);
    }

    public void start() {
        thread = new Thread(this::serve, "apfsim-uffd");
        thread.setDaemon(true);
        thread.start();
    }

    public synchronized List<FaultRecord> faults() {
        return List.copyOf(faults);
    }

    public synchronized List<ServiceRecord> services() {
        return List.copyOf(services);
    }

    private void serve() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment msg = a.allocate(SIZEOF_UFFD_MSG, 8);
            MemorySegment pfds = a.allocate(8L * Math.max(1, regions.size()), 4);
            while (!stop) {
                long now = System.nanoTime();
                while (!queue.isEmpty() && queue.peek().dueNs() <= now) {
                    answer(queue.poll());
                }
                int n = 0;
                List<Region> polled = new ArrayList<>();
                for (Region r : regions) {
                    if (!r.gone && !(r.backing instanceof Backing.Sigbus)) {
                        pfds.set(JAVA_INT, 8L * n, r.fd);
                        pfds.set(JAVA_SHORT, 8L * n + 4, Libc.POLLIN);
                        pfds.set(JAVA_SHORT, 8L * n + 6, (short) 0);
                        polled.add(r);
                        n++;
                    }
                }
                int timeout = 20;
                if (!queue.isEmpty()) {
                    timeout = (int) Math.max(0, Math.min(timeout, (queue.peek().dueNs() - now) / 1_000_000));
                }
                if (n == 0) {
                    sleepMs(timeout == 0 ? 1 : timeout);
                    continue;
                }
                int ready = Libc.poll(pfds, n, timeout);
                if (ready <= 0) {
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    if ((pfds.get(JAVA_SHORT, 8L * i + 6) & Libc.POLLIN) != 0) {
                        readMessages(polled.get(i), msg);
                    }
                }
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                failure = e;
            }
        }
    }

    private void readMessages(Region r, MemorySegment msg) {
        while (true) {
            long got = Libc.read(r.fd, msg, SIZEOF_UFFD_MSG);
            if (got < 0) {
                if (got == -Errno.EAGAIN || got == -Errno.EINTR) {
                    return;
                }
                throw new NativeException("read userfaultfd " + r.name, (int) -got);
            }
            if (got < SIZEOF_UFFD_MSG || Byte.toUnsignedInt(msg.get(JAVA_BYTE, UFFD_MSG_EVENT)) != UFFD_EVENT_PAGEFAULT) {
                continue;
            }
            long now = System.nanoTime();
            long addr = msg.get(JAVA_LONG, UFFD_MSG_PF_ADDRESS);
            boolean write = (msg.get(JAVA_LONG, UFFD_MSG_PF_FLAGS) & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
            int tid = msg.get(JAVA_INT, UFFD_MSG_PF_PTID);
            long page = addr & ~(PAGE - 1);
            synchronized (this) {
                faults.add(new FaultRecord(now, r.name, addr, r.gpa + (page - r.hva), write, tid,
                        vcpuTids.getOrDefault(tid, -1)));
            }
            schedule(r, page, now);
        }
    }

    private void schedule(Region r, long page, long now) {
        switch (r.backing) {
            case Backing.Copy c -> queue.add(new Pending(now + c.latencyNs(), r, page, "copy"));
            case Backing.WakeWithoutPage w -> {
                int done = r.wakes.getOrDefault(page, 0);
                if (done < w.wakes()) {
                    r.wakes.put(page, done + 1);
                    queue.add(new Pending(now + w.latencyNs(), r, page, "wake"));
                } else {
                    queue.add(new Pending(now + w.copyLatencyNs(), r, page, "copy"));
                }
            }
            case Backing.Unregister u -> queue.add(new Pending(now + u.latencyNs(), r, page, "unregister"));
            case Backing.Unmap u -> queue.add(new Pending(now + u.latencyNs(), r, page, "munmap"));
            case Backing.Sigbus s -> { } // never sees a message
            case Backing.Never n -> { }
        }
    }

    private void answer(Pending p) {
        Region r = p.region();
        if (r.gone) {
            return;
        }
        long gpa = r.gpa + (p.pageHva() - r.hva);
        switch (p.action()) {
            case "copy" -> record(r, gpa, "copy", copy(r, p.pageHva()));
            case "wake" -> record(r, gpa, "wake", wake(r, p.pageHva(), PAGE));
            case "unregister" -> {
                r.gone = true; // UFFDIO_UNREGISTER wakes the waiters; their retry fills a zero page
                record(r, gpa, "unregister", rangeIoctl(r.fd, UFFDIO_UNREGISTER, r.hva, r.size));
            }
            case "munmap" -> {
                r.gone = true;
                int rc = 0;
                try {
                    Libc.munmap(r.hva, r.size);
                    synchronized (this) {
                        unmapped.add(r.name);
                    }
                } catch (NativeException e) {
                    rc = -e.errno();
                }
                record(r, gpa, "munmap", rc);
                // munmap wakes nobody: the worker would sleep in handle_userfault until the userfaultfd is
                // closed. Wake the range, as a VMM tearing the region down (closing its uffd) would.
                record(r, gpa, "wake", wake(r, r.hva, r.size));
            }
            default -> throw new IllegalStateException(p.action());
        }
    }

    private synchronized void record(Region r, long gpa, String action, int result) {
        services.add(new ServiceRecord(System.nanoTime(), r.name, gpa, action, result));
    }

    /** UFFDIO_COPY of a page whose words are their own guest-physical address; EEXIST still needs a wake. */
    private int copy(Region r, long page) {
        long gpa = r.gpa + (page - r.hva);
        MemorySegment src = arena.allocate(PAGE, PAGE);
        for (long off = 0; off < PAGE; off += 8) {
            src.set(JAVA_LONG, off, gpa + off);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(SIZEOF_UFFDIO_COPY, 8);
            c.set(JAVA_LONG, UFFDIO_COPY_DST, page);
            c.set(JAVA_LONG, UFFDIO_COPY_SRC, src.address());
            c.set(JAVA_LONG, UFFDIO_COPY_LEN, PAGE);
            c.set(JAVA_LONG, UFFDIO_COPY_MODE, 0);
            int rc = Libc.ioctlRaw(r.fd, UFFDIO_COPY, c);
            if (rc < 0) {
                int e = Libc.lastErrno();
                if (e == Errno.EEXIST) { // a racing fault's copy already filled it
                    return wake(r, page, PAGE);
                }
                return -e;
            }
            return 0;
        }
    }

    private int wake(Region r, long start, long len) {
        return rangeIoctl(r.fd, UFFDIO_WAKE, start, len);
    }

    private static int rangeIoctl(int fd, long request, long start, long len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment range = a.allocate(SIZEOF_UFFDIO_RANGE, 8);
            range.set(JAVA_LONG, 0, start);
            range.set(JAVA_LONG, 8, len);
            return Libc.ioctlRaw(fd, request, range) < 0 ? -Libc.lastErrno() : 0;
        }
    }

    private static void sleepMs(int ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Regions the server unmapped (their memory is no longer ours to unmap). */
    public synchronized Set<String> unmappedRegions() {
        return Set.copyOf(unmapped);
    }

    /** The server thread's failure, if it stopped on one. */
    public synchronized RuntimeException failure() {
        return failure;
    }

    /**
     * Stops the server and closes every userfaultfd, which wakes any thread still blocked in one of their
     * faults (it gets SIGBUS, so a vCPU stuck there leaves KVM_RUN with EFAULT). Idempotent.
     */
    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        stop = true;
        if (thread != null) {
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Region r : regions) {
            Libc.closeQuietly(r.fd);
        }
        arena.close();
    }
}
