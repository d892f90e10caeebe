package dev.apfsim.realkvm.events;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of ftrace text, as the kernel's tracefs {@code trace}/{@code trace_pipe} print it
 * ({@code comm-pid [cpu] flags secs.usecs: name: fields}) or as {@code trace-cmd report} and apfsim's model
 * print it (the same without the flags column, optionally with a {@code (tgid)} column).
 */
public record FtraceLine(String comm, int pid, int cpu, long timeNs, String name, String fields) {
    // comm may contain spaces and dashes ("CPU 0/KVM", "kworker/0:1-events"); the pid is the last "-digits"
    // before the [cpu] column.
    private static final Pattern LINE = Pattern.compile(
            "^\\s*(.*?)-(\\d+)\\s+(?:\\(\\s*[-\\d]+\\)\\s+)?\\[(\\d+)\\]\\s+(?:[A-Za-z0-9.]{4,5}\\s+)?(\\d+)\\.(\\d+):\\s+"
                    + "([A-Za-z0-9_]+):\\s?(.*)$");

    /** The parsed line, or null for headers, comments and lines of another shape. */
    public static FtraceLine parse(String line) {
        if (line.isEmpty() || line.startsWith("#")) {
            return null;
        }
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            return null;
        }
        String frac = m.group(5);
        long secs = Long.parseLong(m.group(4));
        // "secs.usecs" (6 digits) or "secs.nsecs" (9 digits, trace-cmd -t / ns timestamps)
        long fracNs = Long.parseLong(frac);
        for (int i = frac.length(); i < 9; i++) {
            fracNs *= 10;
        }
        for (int i = frac.length(); i > 9; i--) {
            fracNs /= 10;
        }
        return new FtraceLine(m.group(1).trim(), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                secs * 1_000_000_000L + fracNs, m.group(6), m.group(7).trim());
    }
}
