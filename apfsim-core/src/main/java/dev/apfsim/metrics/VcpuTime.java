package dev.apfsim.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/** Per-vCPU time split; in-guest time is charged by the guest, host-side time by the vCPU thread. */
public final class VcpuTime {
    private final long[] ns = new long[TimeCategory.values().length];
    private TimeCategory hostState;
    private long since;

    /** Starts charging host-side time to {@code c} from {@code now}; null while the guest runs. */
    public void hostState(TimeCategory c, long now) {
        closeHost(now);
        hostState = c;
        since = now;
    }

    private void closeHost(long now) {
        if (hostState != null && now > since) {
            ns[hostState.ordinal()] += now - since;
        }
        since = now;
    }

    public void charge(TimeCategory c, long duration) {
        if (duration > 0) {
            ns[c.ordinal()] += duration;
        }
    }

    public void finish(long now) {
        closeHost(now);
        hostState = null;
    }

    public long get(TimeCategory c) {
        return ns[c.ordinal()];
    }

    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (TimeCategory c : TimeCategory.values()) {
            m.put(c.key(), ns[c.ordinal()]);
        }
        return m;
    }
}
