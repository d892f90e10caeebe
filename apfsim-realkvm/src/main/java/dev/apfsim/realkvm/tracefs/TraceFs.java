package dev.apfsim.realkvm.tracefs;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The tracefs mount, shared by every {@link TraceSession} of this JVM. If tracefs was not mounted we mount it,
 * remember that, and unmount it when the last session closes (or at JVM exit); a mount we found is left alone.
 */
final class TraceFs {
    static final Path MOUNT = Path.of("/sys/kernel/tracing");

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
        }
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

    private static void unmount() {
        int r = Libc.umount2(MOUNT.toString(), 0);
        if (r == 0) {
            weMounted = false;
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
