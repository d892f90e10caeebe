package dev.apfsim.trace;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of the canonical event stream: each event's ftrace line, newline-terminated. */
public final class Fingerprint implements TraceSink {
    private final MessageDigest sha;
    private final StringBuilder line = new StringBuilder(128);
    private String hex;

    public Fingerprint() {
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    @Override
    public void accept(TraceEvent event) {
        line.setLength(0);
        FtraceFormat.appendLine(line, event);
        line.append('\n');
        sha.update(line.toString().getBytes(StandardCharsets.UTF_8));
    }

    public String hex() {
        if (hex == null) {
            hex = HexFormat.of().formatHex(sha.digest());
        }
        return hex;
    }
}
