package dev.apfsim.metrics;

/** What a vCPU spends simulated time on. */
public enum TimeCategory {
    GUEST_USER("guest_user"),
    GUEST_KERNEL("guest_kernel"),
    GUEST_IDLE("guest_idle"),
    SYNTHETIC_HALT("synthetic_halt"),
    SYNC_BLOCKED("sync_blocked"),
    HOST_OVERHEAD("host_overhead");

    private final String key;

    TimeCategory(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
