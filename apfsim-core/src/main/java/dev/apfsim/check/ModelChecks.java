package dev.apfsim.check;

import dev.apfsim.kvm.VcpuView;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.ProbeListener;

import org.agrona.collections.Long2LongHashMap;

import java.util.List;

/**
 * The protocol invariants checked at the model's {@link Probe}s (docs/invariants.md): each probe fires where the
 * model does the thing in question, and a broken rule is reported to the {@link Monitor} right there, so its
 * {@code apfsim_violation} event sits in the trace where the offending step is. Host and guest are correlated
 * here, not in the model: the token a notification carried is matched to the guest fault handler that took it.
 */
public final class ModelChecks implements ProbeListener {
    /** HLT exits in a row that returned without blocking or injecting anything: the 100% CPU loop. */
    static final long HLT_BUSY_LOOP_EXITS = 100_000;

    private final Monitor monitor;
    private final List<? extends VcpuView> vcpus;
    private final long[] hltSpins;
    private final boolean[] busyLoopReported;
    /** Token of the notification the host just entered into each vCPU, until the guest's handler takes it. */
    private final long[] delivered;
    /** What each open guest fault handler was really given: a token, or -1 for a fault of the guest's own. */
    /** The token delivered for each fault the guest entered; absent (-1) for a regular fault. */
    private final Long2LongHashMap faultTruth = new Long2LongHashMap(-1);

    private final ExitStorm storm;

    /** Checks without a guest to watch: only injections and blocks count as progress for {@code exit-storm}. */
    public ModelChecks(Monitor monitor, List<? extends VcpuView> vcpus) {
        this(monitor, vcpus, cpu -> 0);
    }

    /** {@code guestProgress}: per CPU, a count that grows whenever one of its guest tasks makes progress. */
    public ModelChecks(Monitor monitor, List<? extends VcpuView> vcpus, java.util.function.IntToLongFunction guestProgress) {
        this.monitor = monitor;
        this.storm = new ExitStorm(monitor, vcpus.size(), guestProgress);
        this.vcpus = vcpus;
        this.hltSpins = new long[vcpus.size()];
        this.busyLoopReported = new boolean[vcpus.size()];
        this.delivered = new long[vcpus.size()];
        java.util.Arrays.fill(delivered, -1);
    }

    private static String hex(long v) {
        return FtraceFormat.hex(v);
    }

    @Override
    public void probe(Probe p) {
        switch (p) {
            case Probe.AsyncPfSetup s -> {
                if (s.token() == 0) {
                    monitor.violation(s.vcpu(), Invariant.TOKEN_ZERO, "alloc_apf_token wrapped to token 0 (gfn "
                            + hex(s.gfn()) + ")");
                }
                long token = Integer.toUnsignedLong(s.token());
                for (VcpuView.Outstanding w : vcpus.get(s.vcpu()).outstanding()) {
                    if (w.token() == token) {
                        monitor.violation(s.vcpu(), Invariant.TOKEN_CLASH, "token " + hex(token)
                                + " already outstanding for gfn " + hex(w.gfn()));
                    }
                }
            }
            case Probe.NotPresentInjected n -> {
                if (!n.guestMode() && !n.paging()) {
                    monitor.violation(n.vcpu(), Invariant.UNDELIVERABLE_INJECTED,
                            "async #PF token " + hex(n.token()) + " injected with CR0.PG=0");
                } else if (!n.guestMode() && !n.irqsAllowed()) {
                    // kvm_can_do_async_pf: "If interrupts are off we cannot even use an artificial halt state."
                    monitor.violation(n.vcpu(), Invariant.UNDELIVERABLE_INJECTED,
                            "async #PF token " + hex(n.token()) + " set up and injected for a fault with IF=0");
                }
            }
            case Probe.SharedWordWrite w -> {
                if (w.old() != 0 && w.word() == Probe.Word.REASON) {
                    monitor.violation(w.vcpu(), Invariant.REASON_OVERWRITTEN, "reason " + w.value()
                            + " written over " + w.old() + " the guest has not read");
                } else if (w.old() != 0) {
                    monitor.violation(w.vcpu(), Invariant.SLOT_OVERWRITTEN, "token slot holds "
                            + hex(Integer.toUnsignedLong(w.old())) + " when writing "
                            + hex(Integer.toUnsignedLong(w.value())));
                }
            }
            case Probe.PageReadyInjected r -> {
                if (r.pending()) {
                    monitor.violation(r.vcpu(), Invariant.PAGE_READY_WHILE_PENDING,
                            "page-ready " + hex(r.token()) + " while one is pending");
                }
            }
            case Probe.PageReadyDropped d -> monitor.violation(d.vcpu(), Invariant.PAGE_READY_DROPPED,
                    "page-ready vector " + d.vector() + " dropped by a software-disabled LAPIC; token slot stays busy");
            case Probe.VmExit x -> storm.exit(x.vcpu());
            case Probe.HaltExit h -> {
                storm.hlt(h.vcpu());
                if (++hltSpins[h.vcpu()] == HLT_BUSY_LOOP_EXITS && !busyLoopReported[h.vcpu()]) {
                    busyLoopReported[h.vcpu()] = true;
                    monitor.violation(h.vcpu(), Invariant.HLT_BUSY_LOOP, hltSpins[h.vcpu()]
                            + " HLT exits returned at once (" + h.doneSize()
                            + " completions on the done list that cannot be dequeued)");
                }
            }
            case Probe.HaltProgress h -> {
                hltSpins[h.vcpu()] = 0;
                storm.progress(h.vcpu());
            }
            case Probe.Prefault f -> {
                boolean changed = f.nowDirect() != f.faultDirect() || f.nowGuestMode() != f.faultGuestMode()
                        || (!f.nowDirect() && f.nowCr3() != f.faultCr3());
                if (changed) {
                    monitor.violation(f.vcpu(), Invariant.PREFAULT_WRONG_CONTEXT, "gfn " + hex(f.gfn())
                            + " faulted with direct=" + f.faultDirect() + " cr3=" + hex(f.faultCr3()) + " guest_mode="
                            + f.faultGuestMode() + ", prefaulted with direct=" + f.nowDirect() + " cr3="
                            + hex(f.nowCr3()) + " guest_mode=" + f.nowGuestMode());
                }
            }
            case Probe.WakeAllUnhashed w -> {
                if (w.nodeCpu() != w.cpu()) {
                    monitor.violation(w.time(), w.cpu(), Invariant.WAKE_ALL_SCOPE, "wake-all on CPU " + w.cpu()
                            + (w.task() < 0 ? " unhashed the dummy node of token " + hex(w.token())
                            : " woke task " + w.task() + " asleep on token " + hex(w.token()))
                            + " registered on CPU " + w.nodeCpu());
                }
            }
            case Probe.NotificationDelivered d -> delivered[d.vcpu()] = d.token();
            case Probe.GuestFaultEntered e -> {
                if (delivered[e.cpu()] < 0) {
                    faultTruth.remove(e.fault()); // no notification: absent reads as -1
                } else {
                    faultTruth.put(e.fault(), delivered[e.cpu()]);
                }
                delivered[e.cpu()] = -1;
            }
            case Probe.GuestFaultClassified c -> classified(c);
            case Probe.ExceptionStateClobbered x -> monitor.violation(x.time(), x.cpu(),
                    Invariant.EXCEPTION_STATE_CLOBBERED, x.detail());
            case Probe.GuestWarning w -> monitor.violation(w.time(), w.cpu(), Invariant.GUEST_WARNING, w.detail());
        }
    }

    /** {@code reason-confusion}: the guest's reading of its APF flags against what the host really sent. */
    private void classified(Probe.GuestFaultClassified c) {
        long truth = faultTruth.remove(c.fault());
        boolean confused = (c.flags() == 0) != (truth < 0);
        String detail = switch (c.site()) {
            case X86_PF -> !confused ? null : truth >= 0
                    ? "async #PF token " + hex(truth) + " taken as a regular fault (flags 0)"
                    : "regular #PF at " + hex(c.address()) + " taken as async (stale flags " + c.flags() + ")";
            case ARM64_ABORT -> !confused ? null : truth >= 0
                    ? "async PF token " + hex(truth) + " taken as a regular data abort (reason 0)"
                    : "regular data abort at " + hex(c.address()) + " taken as async (stale reason " + c.flags()
                    + ")";
            case NESTED_EXIT -> !confused ? null : "nested #PF exit with token " + hex(c.address())
                    + " and host_apf_flags " + c.flags();
            case L2_PF -> truth < 0 ? null : "async #PF token " + hex(c.address())
                    + " meant for L1 delivered into L2, which takes it for a fault at that address";
        };
        if (detail != null) {
            monitor.violation(c.time(), c.cpu(), Invariant.REASON_CONFUSION, detail);
        }
    }
}
