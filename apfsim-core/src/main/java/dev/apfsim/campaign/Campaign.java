package dev.apfsim.campaign;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Work addressable by index: rows 0 .. size-1, each computed from its index alone (runs are seeded and
 * independent), so any engine (threads here, Spark executors, Slurm array tasks) can compute any subset in any
 * order and the rows still form one table. Implementations are serializable so a cluster can ship them.
 */
public interface Campaign extends Serializable {
    /** {@code sweep} or {@code check}. */
    String kind();

    /** The scenario's name, for messages and titles. */
    String scenario();

    long size();

    Table table();

    /** What row {@code index} is computed from, as a short hash: a resumed file must hold the same. */
    String settingsHash(long index);

    /** Computes row {@code index} (runs the simulation). */
    Row run(long index);

    /** Whether a row of this campaign records a broken invariant. */
    boolean violated(List<Object> values);

    /** The first 16 hex digits of the SHA-256 of the parts, each ended by a newline. */
    static String hash(String... parts) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
        for (String p : parts) {
            sha.update(p.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) '\n');
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }
}
