package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.ApfGfnHash;

import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;

/**
 * The fixes argued in seed 004 ("kvm,x86: Force sync fault if previous attempts failed", June 2020), none
 * of them merged. Each makes a failed worker GUP visible instead of retrying forever.
 */
public final class ErrorPolicies {
    private ErrorPolicies() {
    }

    public static ErrorPolicyHook create(X86Policy.ErrorPolicy p) {
        return switch (p) {
            case IGNORE -> ErrorPolicyHook.IGNORE;
            case ERROR_GFN -> new ErrorGfn();
            case ERROR_GFN_HASH -> new ErrorGfnHash();
            case EFAULT_REQUEST -> new EfaultRequest();
            case INJECT_ERROR -> new InjectError();
        };
    }

    /**
     * v1 (June 2020): one {@code apf.error_gfn} per vCPU, recorded in {@code kvm_arch_async_page_present} when
     * the work failed; {@code kvm_can_do_async_pf(vcpu, gfn)} refuses it so the retry is synchronous and exits
     * with -EFAULT. A later failure of another gfn overwrites it (Vitaly's objection).
     */
    static final class ErrorGfn implements ErrorPolicyHook {
        private long errorGfn = ~0L;

        @Override
        public Counter refuseAsync(long gfn) {
            return errorGfn == gfn ? Counter.SYNC_ERROR_GFN : null;
        }

        @Override
        public long stateHash() {
            return errorGfn;
        }

        @Override
        public boolean pagePresent(KvmAsyncPf work) {
            if (work.workerErrno != 0 && !dev.apfsim.engine.Mutants.on(dev.apfsim.engine.Mutants.Mutant.FORGET_ERROR_GFN)) {
                errorGfn = work.gfn;
            }
            return false;
        }
    }

    /**
     * v2-v4 (July 2020): {@code error_gfns[ERROR_GFN_PER_VCPU]}, a 64-entry hash filled when the prefault of a
     * completed item failed, consumed by {@code kvm_find_and_remove_error_gfn} inside {@code kvm_can_do_async_pf}.
     */
    static final class ErrorGfnHash implements ErrorPolicyHook {
        private final ApfGfnHash errorGfns = new ApfGfnHash();

        @Override
        public Counter refuseAsync(long gfn) {
            return errorGfns.remove(gfn) ? Counter.SYNC_ERROR_GFN : null;
        }

        @Override
        public long stateHash() {
            long h = 17;
            for (int i = 0; i < ApfGfnHash.SLOTS; i++) {
                h = h * 31 + errorGfns.slotValue(i);
            }
            return h;
        }

        @Override
        public boolean pagePresent(KvmAsyncPf work) {
            if (work.workerErrno != 0 && !work.wakeupAll && !errorGfns.contains(work.gfn)
                    && errorGfns.size() < ApfGfnHash.SLOTS) {
                errorGfns.add(work.gfn);
            }
            return false;
        }
    }

    /**
     * Sean Christopherson's proposal (Sept-Oct 2020): a KVM request raised on the failed completion that makes
     * the next KVM_RUN iteration exit to userspace with -EFAULT, so the first failed access is reported.
     */
    static final class EfaultRequest implements ErrorPolicyHook {
        private boolean pending;

        @Override
        public boolean pagePresent(KvmAsyncPf work) {
            if (work.workerErrno != 0) {
                pending = true;
            }
            return false;
        }

        @Override
        public long stateHash() {
            return pending ? 1 : 0;
        }

        @Override
        public Integer forcedExit() {
            if (pending) {
                pending = false;
                return HostMemory.EFAULT;
            }
            return null;
        }
    }

    /**
     * Patch 2 of v1: the page-ready event carries an error flag and the guest sends SIGBUS to the faulting user
     * task. A fault the guest was not told about (halt path: kernel mode) cannot take the error, so its retry is
     * forced synchronous and exits with -EFAULT, as Vivek proposed.
     */
    static final class InjectError implements ErrorPolicyHook {
        private final ErrorGfn haltPath = new ErrorGfn();

        @Override
        public long stateHash() {
            return haltPath.stateHash();
        }

        @Override
        public Counter refuseAsync(long gfn) {
            return haltPath.refuseAsync(gfn);
        }

        @Override
        public boolean pagePresent(KvmAsyncPf work) {
            if (work.workerErrno == 0) {
                return false;
            }
            if (work.notpresentInjected) {
                return true;
            }
            haltPath.pagePresent(work);
            return false;
        }
    }
}
