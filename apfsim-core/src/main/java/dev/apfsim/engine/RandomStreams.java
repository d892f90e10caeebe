package dev.apfsim.engine;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The one source of randomness of a run. Each component asks for its own named stream, derived from the run
 * seed and the name only, so adding a component (or turning async PF off) never shifts another one's draws.
 */
public final class RandomStreams {
    private final long seed;

    public RandomStreams(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    public SplittableRandom stream(String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the UTF-8 name
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xff);
            h *= 0x100000001b3L;
        }
        return new SplittableRandom(mix(seed ^ mix(h)));
    }

    /** SplitMix64 finaliser. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
