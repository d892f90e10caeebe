package dev.apfsim.cli;

import dev.apfsim.trace.TraceSink;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Trace files being written. A JVM shutdown hook closes whatever is still open, so Ctrl-C (SIGINT/SIGTERM) leaves
 * a valid, truncated trace that ends in a whole line (or, for JSON, in its closing brackets).
 */
final class TraceFiles {
    private static final Set<TraceSink> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean hooked;

    private TraceFiles() {
    }

    static void register(TraceSink w) {
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

    static void unregister(TraceSink w) {
        OPEN.remove(w);
    }

    private static void closeAll() {
        for (TraceSink w : OPEN) {
            try {
                w.close(); // takes the writer's lock: a line being written is finished first
            } catch (RuntimeException e) {
                System.err.println("apfsim: " + e.getMessage());
            }
        }
    }
}
