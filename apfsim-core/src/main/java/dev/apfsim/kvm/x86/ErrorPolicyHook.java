package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.metrics.Counter;

/** Where the seed-004 error policies plug into the fault and completion paths; Linux 6.12 does nothing here. */
public interface ErrorPolicyHook {
    /** Extra condition of {@code kvm_can_do_async_pf(vcpu, gfn)}: a counter naming the refusal, or null. */
    default Counter refuseAsync(long gfn) {
        return null;
    }

    /** The worker finished; {@code work.workerErrno} says how. */
    default void workerDone(KvmAsyncPf work) {
    }

    /** Consumed an item (in {@code kvm_arch_async_page_present}); return true to also flag an error to the guest. */
    default boolean reportToGuest(KvmAsyncPf work) {
        return false;
    }

    /** Checked at each entry: non-null forces an exit to the VMM with this errno (a KVM request). */
    default Integer forcedExit() {
        return null;
    }

    ErrorPolicyHook IGNORE = new ErrorPolicyHook() {
    };
}
