package dev.apfsim.realkvm.events;

import static dev.apfsim.realkvm.events.Hex.hex;

/**
 * One event of the normalised APF sequence: what both the kernel and the model say about async page faults,
 * without timestamps, pids or host addresses. {@link #key()} is the comparable text (it reads like the
 * tracepoint's own line); {@link #timeNs()} and {@link #vcpu()} are kept aside for timing and for splitting
 * the sequence per vCPU.
 */
public sealed interface ApfEvent {
    long timeNs();

    int vcpu();

    ApfEvent withVcpu(int vcpu);

    /** The comparable form. */
    String key();

    /** The comparable form with tokens masked: the same step of an endless loop has the same shape. */
    default String shape() {
        return key();
    }

    /** {@code kvm_try_async_get_page}: a fault KVM may handle asynchronously. */
    record TryAsync(long timeNs, int vcpu, long gva, long gfn) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new TryAsync(timeNs, v, gva, gfn);
        }

        public String key() {
            return "kvm_try_async_get_page gva " + hex(gva) + " gfn " + hex(gfn);
        }
    }

    /** {@code kvm_async_pf_repeated_fault}: the gfn is already outstanding; synthetic halt follows. */
    record RepeatedFault(long timeNs, int vcpu, long gva, long gfn) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new RepeatedFault(timeNs, v, gva, gfn);
        }

        public String key() {
            return "kvm_async_pf_repeated_fault gva " + hex(gva) + " gfn " + hex(gfn);
        }
    }

    /** {@code kvm_async_pf_not_present}. */
    record NotPresent(long timeNs, int vcpu, long token, long gva) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new NotPresent(timeNs, v, token, gva);
        }

        public String key() {
            return "kvm_async_pf_not_present token " + hex(token) + " gva " + hex(gva);
        }

        public String shape() {
            return "kvm_async_pf_not_present token * gva " + hex(gva);
        }
    }

    /** {@code kvm_async_pf_completed} (its host address is dropped: it differs on every run). */
    record Completed(long timeNs, int vcpu, long gva) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new Completed(timeNs, v, gva);
        }

        public String key() {
            return "kvm_async_pf_completed gva " + hex(gva);
        }
    }

    /** {@code kvm_async_pf_ready} (token 0xffffffff: the wake-all of an enable). */
    record Ready(long timeNs, int vcpu, long token, long gva) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new Ready(timeNs, v, token, gva);
        }

        public String key() {
            return "kvm_async_pf_ready token " + hex(token) + " gva " + hex(gva);
        }

        public String shape() {
            return token == 0xffffffffL ? key() : "kvm_async_pf_ready token * gva " + hex(gva);
        }
    }

    /** {@code kvm_inj_exception} of #PF, with its error code. */
    record PfInjected(long timeNs, int vcpu, long errorCode) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new PfInjected(timeNs, v, errorCode);
        }

        public String key() {
            return "kvm_inj_exception #PF (" + hex(errorCode) + ")";
        }
    }

    /** {@code kvm_apic_accept_irq} of the page-ready vector. */
    record PageReadyIrq(long timeNs, int vcpu, int vector) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new PageReadyIrq(timeNs, v, vector);
        }

        public String key() {
            return "kvm_apic_accept_irq vec " + vector;
        }
    }

    /** {@code kvm_msr} write of MSR_KVM_ASYNC_PF_EN, _INT or _ACK. */
    record ApfMsrWrite(long timeNs, int vcpu, int msr, long value, boolean gp) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new ApfMsrWrite(timeNs, v, msr, value, gp);
        }

        public String name() {
            return switch (msr) {
                case 0x4b564d02 -> "MSR_KVM_ASYNC_PF_EN";
                case 0x4b564d06 -> "MSR_KVM_ASYNC_PF_INT";
                case 0x4b564d07 -> "MSR_KVM_ASYNC_PF_ACK";
                default -> Integer.toHexString(msr);
            };
        }

        public String key() {
            return "kvm_msr write " + name() + " = " + hex(value) + (gp ? " (#GP)" : "");
        }
    }

    /** {@code kvm_userspace_exit} with an error: KVM_RUN failed with this errno. */
    record RunError(long timeNs, int vcpu, int errno) implements ApfEvent {
        public ApfEvent withVcpu(int v) {
            return new RunError(timeNs, v, errno);
        }

        public String key() {
            return "kvm_userspace_exit error (" + errno + ")";
        }
    }
}
