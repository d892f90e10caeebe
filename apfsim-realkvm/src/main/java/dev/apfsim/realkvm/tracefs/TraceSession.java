package dev.apfsim.realkvm.tracefs;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A private tracefs instance ({@code instances/apfsim-PID-N}) with only the chosen {@code kvm} events on, its
 * clock set to {@code mono} (the clock of {@link System#nanoTime()}, so the VMM's own timestamps line up),
 * and a reader thread draining {@code trace_pipe} so an endless loop cannot overflow the buffer. The
 * instance is removed on {@link #close()} in every path, and by a shutdown hook if the JVM is stopped.
 */
public final class TraceSession implements AutoCloseable {
    /** The events a conformance run records: the async PF tracepoints and what surrounds delivery. */
    public static final List<String> EVENTS = List.of("kvm_try_async_get_page", "kvm_async_pf_not_present",
            "kvm_async_pf_ready", "kvm_async_pf_completed", "kvm_async_pf_repeated_fault", "kvm_inj_exception",
            "kvm_apic_accept_irq", "kvm_msr", "kvm_userspace_exit", "kvm_eoi");

    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final Path dir;
    private final List<String> missing = new ArrayList<>();
    private final List<String> lines = new ArrayList<>();
    private Thread reader;
    private volatile boolean stopping;
    private IOException readerFailure;
    private boolean closed;

    private TraceSession(Path dir) {
        this.dir = dir;
    }

    /** Creates the instance with {@code events} (those this kernel lacks are listed by {@link #missing()}). */
    public static TraceSession open(List<String> events) throws IOException {
        Path dir = TraceFs.createInstance("apfsim-" + Libc.getpid() + "-" + COUNTER.incrementAndGet());
        TraceSession s = new TraceSession(dir);
        try {
            write(dir.resolve("tracing_on"), "0");
            write(dir.resolve("trace_clock"), "mono");
            write(dir.resolve("buffer_size_kb"), "4096");
            List<String> present = available(dir);
            for (String e : events) {
                if (present.contains(e)) {
                    write(dir.resolve("events/kvm").resolve(e).resolve("enable"), "1");
                } else {
                    s.missing.add(e);
                }
            }
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * The kvm events this instance offers. This kernel (6.18) has no per-instance {@code available_events},
     * so the instance's {@code events/kvm} directory is the list.
     */
    static List<String> available(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("events/kvm"))) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    public List<String> missing() {
        return List.copyOf(missing);
    }

    /** Turns tracing on and starts draining {@code trace_pipe}. */
    public void start() throws IOException {
        int fd = Libc.open(dir.resolve("trace_pipe").toString(), Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        reader = new Thread(() -> drain(fd), "apfsim-trace-pipe");
        reader.setDaemon(true);
        reader.start();
        write(dir.resolve("tracing_on"), "1");
    }

    private void drain(int fd) {
        StringBuilder partial = new StringBuilder();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1 << 16);
            MemorySegment pfd = a.allocate(8, 4);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(JAVA_SHORT, 4, Libc.POLLIN);
            int idle = 0;
            while (true) {
                long n = Libc.read(fd, buf, buf.byteSize());
                if (n > 0) {
                    idle = 0;
                    partial.append(new String(buf.asSlice(0, n).toArray(JAVA_BYTE),
                            StandardCharsets.UTF_8));
                    int nl;
                    while ((nl = partial.indexOf("\n")) >= 0) {
                        String line = partial.substring(0, nl);
                        partial.delete(0, nl + 1);
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                    continue;
                }
                if (n < 0 && n != -Errno.EAGAIN && n != -Errno.EINTR) {
                    readerFailure = new IOException("read trace_pipe: " + Errno.name((int) -n));
                    return;
                }
                // empty: after stop() give the last per-CPU pages a few rounds to show up
                if (stopping && ++idle > 3) {
                    return;
                }
                pfd.set(JAVA_SHORT, 6, (short) 0);
                Libc.poll(pfd, 1, 20);
            }
        } finally {
            if (!partial.isEmpty()) {
                synchronized (lines) {
                    lines.add(partial.toString());
                }
            }
            Libc.closeQuietly(fd);
        }
    }

    /** Stops tracing and returns every line read, in the order the kernel printed them. */
    public List<String> stop() throws IOException {
        write(dir.resolve("tracing_on"), "0");
        stopping = true;
        if (reader != null) {
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            reader = null;
        }
        if (readerFailure != null) {
            throw readerFailure;
        }
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopping = true;
        if (reader != null) {
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        TraceFs.removeInstance(dir);
    }

    /** rmdir of an instance frees its buffers; events need not be disabled first. */
    static void removeInstanceDir(Path dir) {
        try {
            if (Files.isDirectory(dir)) {
                try {
                    write(dir.resolve("tracing_on"), "0");
                } catch (IOException ignored) {
                    // removing the directory is what matters
                }
                Files.delete(dir);
            }
        } catch (IOException e) {
            System.err.println("apfsim: could not remove tracefs instance " + dir + ": " + e.getMessage());
        }
    }

    private static void write(Path p, String v) throws IOException {
        Files.writeString(p, v);
    }
}
