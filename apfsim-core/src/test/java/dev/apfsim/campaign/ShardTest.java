package dev.apfsim.campaign;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardTest {
    @Test
    void shardsCoverEveryIndexExactlyOnce() {
        for (int n = 1; n <= 5; n++) {
            for (long size = 0; size <= 23; size++) {
                Set<Long> seen = new HashSet<>();
                long counted = 0;
                for (int k = 0; k < n; k++) {
                    Shard s = new Shard(k, n);
                    counted += s.count(size);
                    long inShard = 0;
                    for (long i = s.first(0); i < size; i += n) {
                        assertTrue(s.contains(i));
                        assertTrue(seen.add(i), "index " + i + " in two shards");
                        inShard++;
                    }
                    assertEquals(s.count(size), inShard, s + " of " + size);
                }
                assertEquals(size, seen.size());
                assertEquals(size, counted);
            }
        }
        assertEquals(7, new Shard(1, 3).first(5));
        assertEquals(4, new Shard(1, 3).first(4));
    }

    @Test
    void parsesKOfNAndSaysWhatIsWrong() {
        assertEquals(new Shard(2, 3), Shard.parse("2/3"));
        assertEquals(Shard.ALL, Shard.parse("0/1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Shard.parse("3/3")).getMessage()
                .contains("0 <= K < N"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Shard.parse("1/0")).getMessage()
                .contains("at least 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Shard.parse("a/3")).getMessage()
                .contains("whole numbers"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Shard.parse("3")).getMessage()
                .contains("K/N"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Shard.parse("-1/3")).getMessage()
                .contains("0 <= K < N"));
    }
}
