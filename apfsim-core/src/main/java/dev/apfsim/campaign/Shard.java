package dev.apfsim.campaign;

import java.io.Serializable;

/**
 * {@code --shard K/N}: the rows whose index is K modulo N. Shards 0/N .. N-1/N cover a campaign exactly once, and
 * interleaving (rather than cutting it in N blocks) gives every shard a share of each grid point's cost.
 */
public record Shard(int k, int n) implements Serializable {
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
        if (n < 1 || k < 0 || k >= n) {
            throw new IllegalArgumentException("a shard is K/N with 0 <= K < N, got " + k + "/" + n);
        }
    }

    /** Parses {@code K/N}, e.g. {@code 0/3}; the message says what was expected. */
    public static Shard parse(String s) {
        int slash = s == null ? -1 : s.indexOf('/');
        if (slash <= 0 || slash == s.length() - 1) {
            throw new IllegalArgumentException("expected K/N such as 0/3 (shard K of N, counted from 0), got '" + s
                    + "'");
        }
        int k;
        int n;
        try {
            k = Integer.parseInt(s.substring(0, slash).strip());
            n = Integer.parseInt(s.substring(slash + 1).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected K/N with whole numbers such as 0/3, got '" + s + "'");
        }
        if (n < 1) {
            throw new IllegalArgumentException("shard count N must be at least 1, got '" + s + "'");
        }
        if (k < 0 || k >= n) {
            throw new IllegalArgumentException("shard K/N needs 0 <= K < N (shards count from 0: 0/" + n + " .. "
                    + (n - 1) + "/" + n + "), got '" + s + "'");
        }
        return new Shard(k, n);
    }

    public boolean contains(long index) {
        return Math.floorMod(index, n) == k;
    }

    /** How many of the indices 0 .. size-1 are in this shard. */
    public long count(long size) {
        return size <= k ? 0 : (size - 1 - k) / n + 1;
    }

    /** The first index of this shard at or after {@code from}. */
    long first(long from) {
        long r = Math.floorMod(from, n);
        return from + Math.floorMod(k - r, n);
    }

    public boolean isAll() {
        return n == 1;
    }

    @Override
    public String toString() {
        return k + "/" + n;
    }
}
