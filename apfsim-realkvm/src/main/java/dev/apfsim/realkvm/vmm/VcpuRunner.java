package dev.apfsim.realkvm.vmm;

import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;
import dev.apfsim.realkvm.guest.GuestEvent;
import dev.apfsim.realkvm.guest.GuestImage;
import dev.apfsim.realkvm.guest.ReportKind;
import dev.apfsim.realkvm.kvm.Vcpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The thread of one vCPU, named {@code CPU n/KVM} as QEMU names its vCPU threads (the kernel's comm, so trace
 * lines say which vCPU they are). The watchdog's signal is blocked in this thread except inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK), so it ends a KVM_RUN with EINTR and is then taken with sigtimedwait. As QEMU does
 * for its SIG_IPI, the signal also gets a do-nothing handler: on kvm_pvm a kick that lands while the guest
 * runs was once delivered under KVM_RUN's mask, and the default action killed the JVM.
 */
final class VcpuRunner implements Runnable {
    /** SIGRTMIN+6 in glibc's numbering; the JVM uses no real-time signal. */
    static final int KICK_SIGNAL = 40;

    private final Vcpu vcpu;
    private final GuestImage image;
    private final List<GuestEvent> events;
    private final CountDownLatch ready;
    private final CountDownLatch go;
    private final Thread thread;
    private volatile int tid;
    private volatile boolean stopRequested;
    private volatile VcpuEnd end;
    private Throwable failure;

    VcpuRunner(Vcpu vcpu, GuestImage image, List<GuestEvent> events, CountDownLatch ready, CountDownLatch go) {
        this.vcpu = vcpu;
        this.image = image;
        this.events = events;
        this.ready = ready;
        this.go = go;
        this.thread = new Thread(this, "CPU " + vcpu.id() + "/KVM");
        thread.setDaemon(true);
    }

    void start() {
        installHandlerOnce();
        thread.start();
    }

    private static boolean handlerInstalled;

    private static synchronized void installHandlerOnce() {
        if (!handlerInstalled) {
            Libc.installNoopHandler(KICK_SIGNAL);
            handlerInstalled = true;
        }
    }

    int tid() {
        return tid;
    }

    VcpuEnd end() {
        return end;
    }

    Throwable failure() {
        return failure;
    }

    boolean alive() {
        return thread.isAlive();
    }

    boolean join(long ms) throws InterruptedException {
        thread.join(ms);
        return !thread.isAlive();
    }

    /** Ends the vCPU's run: immediate_exit for a KVM_RUN about to start, the signal for one in progress. */
    void kick() {
        stopRequested = true;
        vcpu.setImmediateExit(true);
        if (tid > 0 && thread.isAlive()) {
            Libc.tgkill(tid, KICK_SIGNAL);
        }
    }

    @Override
    public void run() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment kick = Libc.sigset(a, KICK_SIGNAL);
            MemorySegment old = a.allocate(Libc.SIGSET_BYTES, 8);
            Libc.pthreadSigmask(Libc.SIG_BLOCK, kick, old);
            tid = Libc.gettid(); // only now may kick() signal this thread
            vcpu.setSignalMask(old.get(JAVA_LONG, 0) & ~(1L << (KICK_SIGNAL - 1)));
            ready.countDown();
            if (!go.await(30, TimeUnit.SECONDS)) {
                end = new VcpuEnd.BadExit(RunEnd.Kind.UNKNOWN, "never started", "");
                return;
            }
            end = loop(kick);
        } catch (Throwable t) {
            failure = t;
            if (end == null) {
                end = new VcpuEnd.BadExit(RunEnd.Kind.UNKNOWN, "VMM failure", String.valueOf(t));
            }
            ready.countDown();
        }
    }

    private VcpuEnd loop(MemorySegment kick) {
        MemorySegment run = vcpu.run();
        long lastVector = -1, lastError = 0, lastRip = 0;
        while (true) {
            if (stopRequested) {
                return timeLimit();
            }
            int r = vcpu.runOnce();
            if (r < 0) {
                int errno = -r;
                if (errno == Errno.EINTR || errno == Errno.EAGAIN) {
                    Libc.sigtimedwaitNow(kick);
                    if (stopRequested) {
                        return timeLimit();
                    }
                    continue;
                }
                long gpa = vcpu.exitReason() == KVM_EXIT_MEMORY_FAULT ? run.get(JAVA_LONG, RUN_MEMORY_FAULT_GPA) : -1;
                return new VcpuEnd.RunError(errno, gpa, registers());
            }
            int reason = vcpu.exitReason();
            switch (reason) {
                case KVM_EXIT_IO -> {
                    int dir = Byte.toUnsignedInt(run.get(JAVA_BYTE, RUN_IO_DIRECTION));
                    int size = Byte.toUnsignedInt(run.get(JAVA_BYTE, RUN_IO_SIZE));
                    int port = Short.toUnsignedInt(run.get(JAVA_SHORT, RUN_IO_PORT));
                    long dataOff = run.get(JAVA_LONG, RUN_IO_DATA_OFFSET);
                    long now = System.nanoTime();
                    if (dir == KVM_EXIT_IO_IN) {
                        long us = now / 1000;
                        for (int i = 0; i < size; i++) {
                            run.set(JAVA_BYTE, dataOff + i, (byte) (us >>> (8 * i)));
                        }
                        continue;
                    }
                    long value = size == 4 ? Integer.toUnsignedLong(run.get(JAVA_INT, dataOff))
                            : size == 2 ? Short.toUnsignedInt(run.get(JAVA_SHORT, dataOff))
                            : Byte.toUnsignedInt(run.get(JAVA_BYTE, dataOff));
                    ReportKind k = ReportKind.ofPort(port);
                    if (k == null) {
                        continue;
                    }
                    synchronized (events) {
                        events.add(new GuestEvent(now, vcpu.id(), k, value));
                    }
                    switch (k) {
                        case EXC_VECTOR -> lastVector = value;
                        case EXC_ERROR -> lastError = value;
                        case EXC_RIP -> lastRip = value;
                        case PANIC -> lastError = value;
                        case END -> {
                            if (value == ReportKind.END_OK) {
                                return new VcpuEnd.Finished();
                            } else if (value == ReportKind.END_PANIC) {
                                return new VcpuEnd.Panic(lastError);
                            }
                            return new VcpuEnd.GuestException((int) lastVector, lastError, lastRip,
                                    image.symbolize(lastRip));
                        }
                        default -> { }
                    }
                }
                case KVM_EXIT_HLT -> {
                    return new VcpuEnd.BadExit(RunEnd.Kind.UNKNOWN, "KVM_EXIT_HLT", registers());
                }
                case KVM_EXIT_SHUTDOWN -> {
                    return new VcpuEnd.BadExit(RunEnd.Kind.SHUTDOWN, "KVM_EXIT_SHUTDOWN (triple fault)", registers());
                }
                case KVM_EXIT_FAIL_ENTRY -> {
                    return new VcpuEnd.BadExit(RunEnd.Kind.FAIL_ENTRY, "KVM_EXIT_FAIL_ENTRY",
                            String.format("hardware_entry_failure_reason %#x", run.get(JAVA_LONG, RUN_FAIL_ENTRY_REASON)));
                }
                case KVM_EXIT_INTERNAL_ERROR -> {
                    return new VcpuEnd.BadExit(RunEnd.Kind.INTERNAL_ERROR, "KVM_EXIT_INTERNAL_ERROR",
                            "suberror " + run.get(JAVA_INT, RUN_INTERNAL_SUBERROR) + " " + registers());
                }
                case KVM_EXIT_MMIO -> {
                    return new VcpuEnd.BadExit(RunEnd.Kind.UNKNOWN, "KVM_EXIT_MMIO",
                            String.format("at gpa %#x (no memory there) %s", run.get(JAVA_LONG, RUN_MMIO_PHYS_ADDR),
                                    registers()));
                }
                case KVM_EXIT_INTR -> {
                    Libc.sigtimedwaitNow(kick);
                    if (stopRequested) {
                        return timeLimit();
                    }
                }
                default -> {
                    return new VcpuEnd.BadExit(RunEnd.Kind.UNKNOWN, exitName(reason), registers());
                }
            }
        }
    }

    private VcpuEnd timeLimit() {
        try {
            return new VcpuEnd.TimeLimit(image.symbolize(vcpu.snapshot().rip()));
        } catch (RuntimeException e) {
            return new VcpuEnd.TimeLimit("?");
        }
    }

    private String registers() {
        try {
            var s = vcpu.snapshot();
            return image.symbolize(s.rip()) + " " + s;
        } catch (RuntimeException e) {
            return "(registers unavailable: " + e.getMessage() + ")";
        }
    }
}
