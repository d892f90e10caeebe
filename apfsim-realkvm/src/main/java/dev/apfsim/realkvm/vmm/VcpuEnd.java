package dev.apfsim.realkvm.vmm;

import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.realkvm.ffi.Errno;

/** Why one vCPU thread stopped running its vCPU. */
public sealed interface VcpuEnd {
    RunEnd.Kind kind();

    /** The guest reported END with code 0. */
    record Finished() implements VcpuEnd {
        public RunEnd.Kind kind() {
            return RunEnd.Kind.FINISHED;
        }
    }

    /** The #PF handler's PANIC reaction fired for {@code token}. */
    record Panic(long token) implements VcpuEnd {
        public RunEnd.Kind kind() {
            return RunEnd.Kind.GUEST_PANIC;
        }
    }

    /** An exception the test guest does not expect (reported by its stub), with where it happened. */
    record GuestException(int vector, long errorCode, long rip, String where) implements VcpuEnd {
        public RunEnd.Kind kind() {
            return RunEnd.Kind.GUEST_EXCEPTION;
        }
    }

    /** KVM_RUN returned an error; {@code gpa} is the faulting address when KVM filled memory_fault (else -1). */
    record RunError(int errno, long gpa, String registers) implements VcpuEnd {
        public RunEnd.Kind kind() {
            return errno == Errno.EFAULT ? RunEnd.Kind.EFAULT : RunEnd.Kind.RUN_ERROR;
        }
    }

    /** Still running when the time limit stopped it (KVM_RUN ended by the watchdog's signal). */
    record TimeLimit(String where) implements VcpuEnd {
        public RunEnd.Kind kind() {
            return RunEnd.Kind.STILL_RUNNING;
        }
    }

    /** An exit a test guest should not cause: SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, HLT, MMIO, ... */
    record BadExit(RunEnd.Kind kind, String exit, String detail) implements VcpuEnd {
    }

    static String describe(VcpuEnd e) {
        return switch (e) {
            case Finished f -> "finished";
            case Panic p -> String.format("guest panic on token %#x", p.token());
            case GuestException x -> String.format("guest exception %d (error %#x) at %s", x.vector(), x.errorCode(),
                    x.where());
            case RunError r -> "KVM_RUN: " + Errno.name(r.errno()) + " (" + Errno.describe(r.errno()) + ")"
                    + (r.gpa() >= 0 ? String.format(" at gpa %#x", r.gpa()) : "");
            case TimeLimit t -> "still running at the time limit, at " + t.where();
            case BadExit b -> b.exit() + (b.detail().isEmpty() ? "" : " " + b.detail());
        };
    }
}
