package dev.apfsim.trace;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of the canonical event stream: each event's fixed binary record ({@link CanonicalEncoding}), in
 * emission order. No text is formatted for it: the ftrace line of an event is made only when a trace is written.
 */
public final class Fingerprint extends RecordOut implements TraceSink {
    private final MessageDigest sha;
    private String hex;

    public Fingerprint() {
        super(1 << 14); // records are hashed a block at a time: one digest call per ~500 events
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    @Override
    public void accept(TraceEvent event) {
        CanonicalEncoding.write(event, this);
    }

    @Override
    protected void drain() {
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
