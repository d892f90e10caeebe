package dev.apfsim.realkvm.tracefs;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The tracefs mount, shared by every apfsim process on the host. Instances are created and removed under a
 * host-wide lock ({@code flock} on {@link #LOCK_DIR}); the first user mounts tracefs if it is not mounted and
 * records that in {@link #MARKER}; whoever removes the last instance of a mount apfsim made unmounts it. A
 * mount apfsim found is left alone.
 *
 * <p>A process killed outright (SIGKILL, a fatal signal) runs no shutdown hook and loses its lock with its
 * life: the next run removes instances named {@code apfsim-PID-N} whose process is gone and, since the marker
 * is still there, unmounts at its end like the last user would have.
 */
final class TraceFs {
    static final Path MOUNT = Path.of("/sys/kernel/tracing");
    /** Present while a tracefs mount made by apfsim stands; holds the pid of the process that made it. */
    static final Path MARKER = Path.of("/run/apfsim-tracefs-mount.pid");
    /** A directory that always exists, flock'ed for the lock (no lock file to leave behind). */
    static final Path LOCK_DIR = Path.of("/run");
    private static final Pattern OURS = Pattern.compile("apfsim-(\\d+)-\\d+");

    private static final Set<Path> liveInstances = new LinkedHashSet<>();
    private static boolean hookInstalled;

    private TraceFs() {
    }

    /** The host-wide lock, held while the descriptor is open. */
    private static final class HostLock implements AutoCloseable {
        private final int fd;

        HostLock() {
            fd = Libc.open(LOCK_DIR.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
            try {
                Libc.flock(fd, Libc.LOCK_EX);
            } catch (RuntimeException e) {
                Libc.closeQuietly(fd);
                throw e;
            }
        }

        @Override
        public void close() {
            Libc.closeQuietly(fd);
        }
    }

    /** Creates {@code instances/name}, mounting tracefs first if it is not mounted. */
    static synchronized Path createInstance(String name) throws IOException {
        installHook();
        try (HostLock l = new HostLock()) {
            if (!Files.isDirectory(MOUNT.resolve("instances"))) {
                int r = Libc.mount("nodev", MOUNT.toString(), "tracefs", 0);
                if (r < 0) {
                    throw new IOException("cannot mount tracefs at " + MOUNT + ": " + Errno.name(-r));
                }
                try {
                    Files.writeString(MARKER, Long.toString(ProcessHandle.current().pid()));
                } catch (IOException e) {
                    Libc.umount2(MOUNT.toString(), 0);
                    throw new IOException("cannot record the tracefs mount in " + MARKER + ": " + e.getMessage(), e);
                }
            }
            removeStaleInstances();
            Path dir = MOUNT.resolve("instances").resolve(name);
            Files.createDirectory(dir);
            liveInstances.add(dir);
            return dir;
        }
    }

    /** Removes the instance; if it was the last one on a mount apfsim made, unmounts tracefs. */
    static synchronized void removeInstance(Path dir) {
        try (HostLock l = new HostLock()) {
            TraceSession.removeInstanceDir(dir);
            liveInstances.remove(dir);
            removeStaleInstances();
            if (Files.exists(MARKER) && instances().isEmpty()) {
                int r = Libc.umount2(MOUNT.toString(), 0);
                if (r == 0) {
                    Files.deleteIfExists(MARKER);
                } else {
                    System.err.println("apfsim: could not unmount the tracefs apfsim mounted at " + MOUNT + ": "
                            + Errno.name(-r));
                }
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("apfsim: cleaning up tracefs: " + e.getMessage());
        }
    }

    private static List<Path> instances() throws IOException {
        Path d = MOUNT.resolve("instances");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    /** Instances of apfsim processes that no longer exist. */
    private static void removeStaleInstances() throws IOException {
        for (Path p : instances()) {
            Matcher m = OURS.matcher(p.getFileName().toString());
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                TraceSession.removeInstanceDir(p);
            }
        }
    }

    /** At JVM exit (Ctrl-C included): remove our instances still there, and the mount if it was the last. */
    private static void installHook() {
        if (hookInstalled) {
            return;
        }
        hookInstalled = true;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : snapshot()) {
                removeInstance(p);
            }
        }, "apfsim-tracefs-cleanup"));
    }

    private static synchronized Set<Path> snapshot() {
        return Set.copyOf(liveInstances);
    }
}
