package dev.apfsim.metrics;

/** What a vCPU spends simulated time on. */
public enum TimeCategory {
    GUEST_USER("guest_user"),
    GUEST_KERNEL("guest_kernel"),
    GUEST_IDLE("guest_idle"),
    SYNTHETIC_HALT("synthetic_halt"),
    SYNC_BLOCKED("sync_blocked"),
    HOST_OVERHEAD("host_overhead"),
    /** Runnable but off its host CPU: another vCPU thread or a kworker has it (what the guest sees as steal). */
    HOST_PREEMPTED("host_preempted");

    private final String key;

    TimeCategory(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
