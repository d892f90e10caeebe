package dev.apfsim.sim;

import dev.apfsim.trace.TraceEvent;

/**
 * The events of the async PF protocol itself, as the kernel's tracepoints name them ({@code kvm_try_async_get_page},
 * {@code kvm_async_pf_not_present}, {@code kvm_async_pf_ready}, {@code kvm_async_pf_completed}, the guest's
 * wait and wake, injections, MSR writes, exits to userspace, …): what a checker's trace shows. Scheduling,
 * timeline and device events are left out.
 */
public final class ProtocolEvents {
    private ProtocolEvents() {
    }

    public static boolean is(TraceEvent e) {
        return switch (e) {
            case TraceEvent.VcpuState v -> false;
            case TraceEvent.PageIo p -> false;
            case TraceEvent.GuestSwitch g -> false;
            case TraceEvent.GuestWakeup w -> false;
            case TraceEvent.ApicAcceptIrq a -> a.vector() != dev.apfsim.arch.x86.ApfMsr.LOCAL_TIMER_VECTOR
                    && a.vector() != dev.apfsim.perturb.Perturbation.DEVICE_VECTOR;
            default -> !e.timeline();
        };
    }
}
