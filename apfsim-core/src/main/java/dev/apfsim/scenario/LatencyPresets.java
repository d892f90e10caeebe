package dev.apfsim.scenario;

import dev.apfsim.memory.LatencyDistribution;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named device latencies usable wherever a scenario expects a LATENCY ({@code host.swap.latency: nvme}). Figures are
 * per 4 KiB read; see docs/scenarios.md for the sources.
 */
public final class LatencyPresets {

    /** A named latency with the published figure it is fitted to. */
    public record Preset(String name, LatencyDistribution latency, String source) {
    }

    private static final Map<String, Preset> PRESETS;

    static {
        Map<String, Preset> m = new LinkedHashMap<>();
        add(m, "nvme", new LatencyDistribution.LogNormal(20 * Units.US, 50 * Units.US),
                "NVMe SSD random 4 KiB read, 10-50 us");
        add(m, "ssd", new LatencyDistribution.LogNormal(80 * Units.US, 150 * Units.US),
                "SATA/SAS SSD random 4 KiB read, 50-150 us");
        add(m, "sata-ssd", new LatencyDistribution.LogNormal(80 * Units.US, 150 * Units.US),
                "same as ssd: SATA/SAS SSD random 4 KiB read, 50-150 us");
        add(m, "hdd", new LatencyDistribution.LogNormal(6 * Units.MS, 10 * Units.MS),
                "rotating disk random 4 KiB read (seek + rotation), 5-10 ms");
        add(m, "zswap", new LatencyDistribution.Constant(6 * Units.US),
                "zswap: decompress one page from the compressed in-RAM pool, about 6 us");
        add(m, "postcopy-10gbe", new LatencyDistribution.LogNormal(1 * Units.MS, 10_700 * Units.US),
                "post-copy live migration, one 4 KiB page fetched over 10 GbE, 0.57-10.7 ms");
        PRESETS = Collections.unmodifiableMap(m);
    }

    private static void add(Map<String, Preset> m, String name, LatencyDistribution d, String source) {
        m.put(name, new Preset(name, d, source));
    }

    private LatencyPresets() {
    }

    /** All presets in documentation order. */
    public static Map<String, Preset> all() {
        return PRESETS;
    }

    /** The preset called {@code name} (exact, lower case), or null. */
    public static Preset get(String name) {
        return PRESETS.get(name);
    }
}
