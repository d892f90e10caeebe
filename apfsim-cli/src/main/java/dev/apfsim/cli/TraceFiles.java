package dev.apfsim.cli;

import dev.apfsim.trace.FtraceWriter;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Trace files being written. A JVM shutdown hook closes whatever is still open, so Ctrl-C (SIGINT/SIGTERM) leaves
 * a valid, truncated trace that ends in a whole line.
 */
final class TraceFiles {
    private static final Set<FtraceWriter> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean hooked;

    private TraceFiles() {
    }

    static void register(FtraceWriter w) {
        if (!hooked) {
            synchronized (TraceFiles.class) {
                if (!hooked) {
                    Runtime.getRuntime().addShutdownHook(new Thread(TraceFiles::closeAll, "apfsim-trace-close"));
                    hooked = true;
                }
            }
        }
        OPEN.add(w);
    }

    static void unregister(FtraceWriter w) {
        OPEN.remove(w);
    }

    private static void closeAll() {
        for (FtraceWriter w : OPEN) {
            try {
                w.close(); // takes the writer's lock: a line being written is finished first
            } catch (RuntimeException e) {
                System.err.println("apfsim: " + e.getMessage());
            }
        }
    }
}
