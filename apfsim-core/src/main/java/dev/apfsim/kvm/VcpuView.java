package dev.apfsim.kvm;

import java.util.List;

/** What an observer (the checker) may read of a vCPU's async PF state; nothing here changes the model. */
public interface VcpuView {
    /** An item created by this vCPU and not consumed yet: {@code struct kvm_async_pf} as seen from outside. */
    record Outstanding(long token, long gfn, boolean completed) {
        public Outstanding(long token, long gfn) {
            this(token, gfn, false);
        }
    }

    int id();

    /** Items on {@code vcpu->async_pf.queue}, oldest first (wake-alls excluded). */
    List<Outstanding> outstanding();

    /** Whether an item with {@code token} is on the queue ({@code inService}: one whose worker is not done yet). */
    default boolean hasItem(long token, boolean inService) {
        for (Outstanding w : outstanding()) {
            if (w.token() == token && (!inService || !w.completed())) {
                return true;
            }
        }
        return false;
    }

    /**
     * A page-ready for {@code token} has left the host but not reached the guest's handler yet (in the shared
     * token word, or as a queued exception).
     */
    boolean pageReadyInFlight(long token);
}
