package dev.apfsim.realkvm.tracefs;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The tracefs mount, shared by every {@link TraceSession} of this JVM. If tracefs was not mounted we mount it,
 * remember that, and unmount it when the last session closes (or at JVM exit); a mount we found is left alone.
 *
 * <p>A JVM killed outright (SIGKILL, a fatal signal) runs no shutdown hook, so what it made is cleaned up by the
 * next run: instances named {@code apfsim-PID-N} whose process is gone are removed, and a mount recorded in
 * {@link #MARKER} by a process that is gone, whose instance is still there, is adopted and unmounted at the end
 * like one of our own.
 */
final class TraceFs {
    static final Path MOUNT = Path.of("/sys/kernel/tracing");
    /** Holds the pid of the process that mounted tracefs, while that mount stands. */
    static final Path MARKER = Path.of("/run/apfsim-tracefs-mount.pid");
    private static final Pattern OURS = Pattern.compile("apfsim-(\\d+)-\\d+");

    private static boolean weMounted;
    private static int users;
    private static final Set<Path> liveInstances = new LinkedHashSet<>();
    private static boolean hookInstalled;

    private TraceFs() {
    }

    static synchronized Path acquire() throws IOException {
        installHook();
        if (!Files.isDirectory(MOUNT.resolve("instances"))) {
            int r = Libc.mount("nodev", MOUNT.toString(), "tracefs", 0);
            if (r < 0) {
                throw new IOException("cannot mount tracefs at " + MOUNT + ": " + Errno.name(-r));
            }
            weMounted = true;
            writeMarker();
        } else if (!weMounted && mountedByAKilledRun()) {
            weMounted = true; // mounted by an earlier run that was killed: ours to undo
            writeMarker();
        }
        removeStaleInstances();
        users++;
        return MOUNT;
    }

    static synchronized void instanceCreated(Path p) {
        liveInstances.add(p);
    }

    static synchronized void instanceRemoved(Path p) {
        liveInstances.remove(p);
    }

    static synchronized void release() {
        users--;
        if (users == 0 && weMounted) {
            unmount();
        }
    }

    private static void writeMarker() {
        try {
            Files.writeString(MARKER, Long.toString(ProcessHandle.current().pid()));
        } catch (IOException ignored) {
            // without /run the mount is still undone by this process; only a crash would leave it
        }
    }

    /**
     * The marker names a process that is gone and that process's instance is still there: the mount is the
     * one that run made (a mount made since by someone else would not hold that instance).
     */
    private static boolean mountedByAKilledRun() {
        try {
            long pid = Long.parseLong(Files.readString(MARKER).trim());
            if (ProcessHandle.of(pid).isPresent()) {
                return false;
            }
            try (Stream<Path> s = Files.list(MOUNT.resolve("instances"))) {
                return s.anyMatch(p -> p.getFileName().toString().startsWith("apfsim-" + pid + "-"));
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    /** Instances of apfsim processes that no longer exist. */
    private static void removeStaleInstances() {
        try (Stream<Path> s = Files.list(MOUNT.resolve("instances"))) {
            for (Path p : s.toList()) {
                Matcher m = OURS.matcher(p.getFileName().toString());
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                    TraceSession.removeInstanceDir(p);
                }
            }
        } catch (IOException ignored) {
            // nothing to clean, or not allowed to look
        }
    }

    private static void unmount() {
        int r = Libc.umount2(MOUNT.toString(), 0);
        if (r == 0) {
            weMounted = false;
            try {
                Files.deleteIfExists(MARKER);
            } catch (IOException ignored) {
                // a stale marker names a dead pid with no instance left: nothing is adopted from it
            }
        } else {
            System.err.println("apfsim: could not unmount the tracefs we mounted at " + MOUNT + ": "
                    + Errno.name(-r));
        }
    }

    /** At JVM exit (Ctrl-C included): remove instances still there and undo our mount. */
    private static void installHook() {
        if (hookInstalled) {
            return;
        }
        hookInstalled = true;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (TraceFs.class) {
                for (Path p : Set.copyOf(liveInstances)) {
                    TraceSession.removeInstanceDir(p);
                }
                liveInstances.clear();
                if (weMounted) {
                    unmount();
                }
            }
        }, "apfsim-tracefs-cleanup"));
    }
}
