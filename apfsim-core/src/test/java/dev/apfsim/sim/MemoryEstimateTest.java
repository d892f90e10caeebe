package dev.apfsim.sim;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryEstimateTest {
    static Scenario ssd(String... sets) {
        return BuiltinScenarios.load("overcommit-ssd", List.of(sets));
    }

    @Test
    void guestRamDominatesAtTwoBytesPerFrame() {
        MemoryEstimate e = MemoryEstimate.of(ssd());
        assertEquals(8L << 18, e.frames(), "8 GiB in 4 KiB frames");
        assertEquals(4, e.vcpus());
        assertEquals(8, e.tasks(), "4 oltp + 2 scan + 2 cpu");
        assertTrue(e.bytes() >= MemoryEstimate.BASE + 2 * e.frames(), "at least the frame arrays: " + e);
        assertTrue(e.bytes() < MemoryEstimate.BASE + 4 * e.frames(), "but not far more: " + e);
    }

    @Test
    void growsWithVcpusAndTasksAndParallelRuns() {
        MemoryEstimate small = MemoryEstimate.of(ssd());
        MemoryEstimate wide = MemoryEstimate.of(ssd("vm.vcpus=64"));
        assertTrue(wide.bytes() > small.bytes());
        assertEquals(small.bytes(), small.forRuns(1));
        assertEquals(2 * small.bytes() - MemoryEstimate.BASE, small.forRuns(2), "the base is shared");
    }

    @Test
    void suggestsHeapSizesInXmxSyntax() {
        assertEquals("256m", MemoryEstimate.heapOption(100L << 20));
        assertEquals("768m", MemoryEstimate.heapOption(673L << 20));
        assertEquals("1g", MemoryEstimate.heapOption(1000L << 20));
        assertEquals("1536m", MemoryEstimate.heapOption(1314L << 20));
        assertEquals("5g", MemoryEstimate.heapOption(5000L << 20));
        assertEquals("6g", MemoryEstimate.heapOption(5200L << 20));
    }
}
