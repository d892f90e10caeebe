package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.metrics.Counter;

/** Where the seed-004 error policies plug into the fault and completion paths; Linux 6.12 does nothing here. */
public interface ErrorPolicyHook {
    /** Extra condition of {@code kvm_can_do_async_pf(vcpu, gfn)}: a counter naming the refusal, or null. */
    default Counter refuseAsync(long gfn) {
        return null;
    }

    /**
     * An item is consumed ({@code kvm_arch_async_page_present}); {@code work.workerErrno} says whether the
     * worker's GUP failed. Returns true to flag the error to the guest in the page-ready event.
     */
    default boolean pagePresent(KvmAsyncPf work) {
        return false;
    }

    /** Checked before each entry: non-null forces KVM_RUN to return this errno (a KVM request). */
    default Integer forcedExit() {
        return null;
    }

    /** The policy's own state (error_gfn, error_gfns[], the pending request) folded into a hash, for the checker. */
    default long stateHash() {
        return 0;
    }

    ErrorPolicyHook IGNORE = new ErrorPolicyHook() {
    };
}
