package dev.apfsim.realkvm.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few libc calls the VMM needs, bound with the foreign-function API. Every call captures {@code errno}
 * right after the call (the JVM may clobber it before Java code could read it otherwise) and a failing call
 * throws {@link NativeException} naming the call and the errno.
 */
public final class Libc {
    private Libc() {
    }

    // <fcntl.h>, <sys/mman.h>, <poll.h>, <signal.h>, <sys/file.h> on x86-64 Linux
    public static final int O_RDONLY = 0, O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public static final int PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000,
            MAP_POPULATE = 0x8000;
    public static final short POLLIN = 1;
    public static final int SIG_BLOCK = 0;
    public static final int O_DIRECTORY = 0x10000, LOCK_EX = 2;

    // <asm/unistd_64.h>
    public static final long SYS_GETTID = 186, SYS_TGKILL = 234, SYS_USERFAULTFD = 323;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... extra) {
        Linker.Option[] opts = new Linker.Option[extra.length + 1];
        opts[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(extra, 0, opts, 1, extra.length);
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, opts);
    }

    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle IOCTL_PTR = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = bind("mmap",
            FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle READ = bind("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL = bind("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SYSCALL3 = bind("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    private static final MethodHandle PTHREAD_SIGMASK = bind("pthread_sigmask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGTIMEDWAIT = bind("sigtimedwait",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle MOUNT = bind("mount",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle UMOUNT2 = bind("umount2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETPID = bind("getpid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle FLOCK = bind("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SIGACTION = bind("sigaction",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETEUID = bind("geteuid", FunctionDescriptor.of(JAVA_INT));

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** {@code open(2)}; throws on failure. */
    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = STATE.get();
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags, 0);
            if (fd < 0) {
                throw new NativeException("open " + path, errno(st));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void close(int fd) {
        try {
            int r = (int) CLOSE.invokeExact(STATE.get(), fd);
            if (r < 0) {
                throw new NativeException("close", errno(STATE.get()));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Closes without throwing: for cleanup paths, where the first failure is the one to report. */
    public static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                close(fd);
            } catch (NativeException ignored) {
                // nothing left to do with a descriptor that will not close
            }
        }
    }

    /** {@code ioctl(fd, request, arg)} with a pointer argument; returns the result or throws. */
    public static int ioctl(int fd, long request, MemorySegment arg, String what) {
        int r = ioctlRaw(fd, request, arg);
        if (r < 0) {
            throw new NativeException(what, lastErrno());
        }
        return r;
    }

    /** {@code ioctl(fd, request, arg)} with an integer argument; returns the result or throws. */
    public static int ioctl(int fd, long request, long arg, String what) {
        try {
            MemorySegment st = STATE.get();
            int r = (int) IOCTL_LONG.invokeExact(st, fd, request, arg);
            if (r < 0) {
                throw new NativeException(what, errno(st));
            }
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl} returning -1 on failure with the errno kept for {@link #lastErrno()} (KVM_RUN's path). */
    public static int ioctlRaw(int fd, long request, MemorySegment arg) {
        try {
            return (int) IOCTL_PTR.invokeExact(STATE.get(), fd, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The errno captured by this thread's last call. */
    public static int lastErrno() {
        return errno(STATE.get());
    }

    /** {@code mmap(2)}; returns the mapping as a segment of {@code length} bytes. */
    public static MemorySegment mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment st = STATE.get();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(st, addr, length, prot, flags, fd, offset);
            if (p.address() == -1L) {
                throw new NativeException("mmap", errno(st));
            }
            return p.reinterpret(length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void munmap(long addr, long length) {
        try {
            MemorySegment st = STATE.get();
            int r = (int) MUNMAP.invokeExact(st, addr, length);
            if (r < 0) {
                throw new NativeException("munmap", errno(st));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code read(2)}; returns the byte count, or -errno (EAGAIN on an empty non-blocking descriptor). */
    public static long read(int fd, MemorySegment buf, long n) {
        try {
            MemorySegment st = STATE.get();
            long r = (long) READ.invokeExact(st, fd, buf, n);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code poll(2)} on an array of {@code struct pollfd}; returns the ready count, 0 on timeout, -errno. */
    public static int poll(MemorySegment fds, long n, int timeoutMs) {
        try {
            MemorySegment st = STATE.get();
            int r = (int) POLL.invokeExact(st, fds, n, timeoutMs);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code syscall(nr, a, b, c)}; returns the result or -errno. */
    public static long syscall(long nr, long a, long b, long c) {
        try {
            MemorySegment st = STATE.get();
            long r = (long) SYSCALL3.invokeExact(st, nr, a, b, c);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's kernel thread id. */
    public static int gettid() {
        return (int) syscall(SYS_GETTID, 0, 0, 0);
    }

    public static int getpid() {
        try {
            return (int) GETPID.invokeExact(STATE.get());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact(STATE.get());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code tgkill(2)}: a signal to one thread of this process; returns 0 or -errno (ESRCH once it is gone). */
    public static int tgkill(int tid, int signal) {
        return (int) syscall(SYS_TGKILL, getpid(), tid, signal);
    }

    /** Size of glibc's {@code sigset_t} (1024 bits); the kernel's own sigset is the first 8 bytes of it. */
    public static final long SIGSET_BYTES = 128;

    /** A glibc {@code sigset_t} holding exactly the given signals (bit n-1 is signal n). */
    public static MemorySegment sigset(Arena arena, int... signals) {
        MemorySegment s = arena.allocate(SIGSET_BYTES, 8);
        for (int sig : signals) {
            long word = s.get(JAVA_LONG, ((sig - 1) / 64) * 8L);
            s.set(JAVA_LONG, ((sig - 1) / 64) * 8L, word | (1L << ((sig - 1) % 64)));
        }
        return s;
    }

    /** {@code pthread_sigmask(how, set, old)}; old may be {@link MemorySegment#NULL}. */
    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment old) {
        try {
            int r = (int) PTHREAD_SIGMASK.invokeExact(STATE.get(), how, set, old);
            if (r != 0) {
                throw new NativeException("pthread_sigmask", r);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** glibc's {@code struct sigaction}: handler, sa_mask (a 128-byte sigset), sa_flags, sa_restorer. */
    private static final long SIGACTION_BYTES = 152, SIGACTION_HANDLER = 0;

    /**
     * Gives {@code signal} a handler that does nothing, so that a delivery can never take the default action
     * (terminating the process). The handler is libc's {@code getpid}: async-signal-safe, no side effect, and
     * native, so no Java code runs in signal context. SIG_IGN would not do: an ignored signal is dropped
     * when sent and would not interrupt KVM_RUN.
     */
    public static synchronized void installNoopHandler(int signal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment act = a.allocate(SIGACTION_BYTES, 8);
            act.set(ADDRESS, SIGACTION_HANDLER, LIBC.find("getpid").orElseThrow());
            MemorySegment st = STATE.get();
            int r = (int) SIGACTION.invokeExact(st, signal, act, MemorySegment.NULL);
            if (r < 0) {
                throw new NativeException("sigaction " + signal, errno(st));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code sigtimedwait} with a zero timeout: takes one pending signal of {@code set}, or returns -EAGAIN. */
    public static int sigtimedwaitNow(MemorySegment set) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(16, 8); // struct timespec {0, 0}
            MemorySegment st = STATE.get();
            int r = (int) SIGTIMEDWAIT.invokeExact(st, set, MemorySegment.NULL, ts);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code flock(2)}, waiting for the lock; throws on failure. */
    public static void flock(int fd, int op) {
        try {
            MemorySegment st = STATE.get();
            int r = (int) FLOCK.invokeExact(st, fd, op);
            if (r < 0) {
                throw new NativeException("flock", errno(st));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code mount(2)} without data; returns 0 or -errno. */
    public static int mount(String source, String target, String type, long flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = STATE.get();
            int r = (int) MOUNT.invokeExact(st, a.allocateFrom(source), a.allocateFrom(target),
                    a.allocateFrom(type), flags, MemorySegment.NULL);
            return r < 0 ? -errno(st) : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code umount2(2)}; returns 0 or -errno. */
    public static int umount2(String target, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = STATE.get();
            int r = (int) UMOUNT2.invokeExact(st, a.allocateFrom(target), flags);
            return r < 0 ? -errno(st) : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
