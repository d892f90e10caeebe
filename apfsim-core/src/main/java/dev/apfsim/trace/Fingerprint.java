package dev.apfsim.trace;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of the canonical event stream: each event's ftrace line, newline-terminated. */
public final class Fingerprint implements TraceSink {
    private final MessageDigest sha;
    private final StringBuilder line = new StringBuilder(128);
    /** The line's characters, copied out in bulk: cheaper than reading the builder one charAt at a time. */
    private char[] chars = new char[256];
    /** Lines are gathered here and hashed in blocks: one digest call per block, no String per event. */
    private final byte[] block = new byte[1 << 16];
    private int used;
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
        int n = line.length();
        if (chars.length < n) {
            chars = new char[2 * n];
        }
        line.getChars(0, n, chars, 0);
        if (used + 4 * n > block.length) {
            drain();
        }
        char[] cs = chars;
        for (int i = 0; i < n; i++) {
            char c = cs[i];
            if (c >= 0x80) { // rare: free text with non-ASCII characters
                byte[] utf8 = line.substring(i).getBytes(StandardCharsets.UTF_8);
                if (used + utf8.length > block.length) {
                    drain();
                }
                System.arraycopy(utf8, 0, block, used, utf8.length);
                used += utf8.length;
                return;
            }
            block[used++] = (byte) c;
        }
    }

    private void drain() {
        sha.update(block, 0, used);
        used = 0;
    }

    public String hex() {
        if (hex == null) {
            drain();
            hex = HexFormat.of().formatHex(sha.digest());
        }
        return hex;
    }
}
