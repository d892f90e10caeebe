package dev.apfsim.realkvm;

import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.guest.TestGuest.*;
import dev.apfsim.realkvm.kvm.KvmAbi;
import dev.apfsim.realkvm.uffd.Backing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The built-in experiments: the real-kernel observations of the Linux 6.18 host (one vCPU, guest memory
 * behind userfaultfd) as test guests, plus a two-vCPU guest and a never-answered fault. Their guests behave like
 * the guest of that experiment: the first instructions run with IF=0 at CPL0, then the guest
 * writes INT and EN itself and touches remote pages; its #PF handler spins with IF=1 until page-ready.
 */
public final class Experiments {
    private Experiments() {
    }

    /** A named experiment: the guest, what it is expected to show, and its wall-time limit. */
    public record Experiment(String name, String shows, TestGuest guest, long timeLimitMs) {
    }

    public static final long REMOTE = 0x200000;
    public static final int VECTOR = 236;
    public static final long EN = KvmAbi.KVM_ASYNC_PF_ENABLED, SEND_ALWAYS = KvmAbi.KVM_ASYNC_PF_SEND_ALWAYS,
            AS_INT = KvmAbi.KVM_ASYNC_PF_DELIVERY_AS_INT;
    /** Linux's page-ready handler order (sysvec_kvm_asyncpf_interrupt): read, zero, ACK, EOI. */
    public static final List<ReadyStep> LINUX_READY = List.of(ReadyStep.READ_TOKEN, ReadyStep.ZERO_TOKEN,
            ReadyStep.ACK, ReadyStep.EOI);

    private static final long MS = 1_000_000;

    /** A one-vCPU guest with one remote region at {@link #REMOTE}. */
    public static TestGuest guest(String name, NotPresentReaction reaction, Backing backing, List<Step> program) {
        return new TestGuest(name, ApicMode.X2APIC, PvCpuid.all(), 0x5000, VECTOR, reaction, LINUX_READY,
                List.of(new RemoteRegion("remote", REMOTE, 16, backing)), List.of(program));
    }

    static TestGuest withApic(TestGuest g, ApicMode apic) {
        return new TestGuest(g.name(), apic, g.cpuid(), g.apfArea(), g.intVector(), g.onNotPresent(), g.pageReady(),
                g.regions(), g.programs());
    }

    static TestGuest withCpuid(TestGuest g, PvCpuid cpuid) {
        return new TestGuest(g.name(), g.apic(), cpuid, g.apfArea(), g.intVector(), g.onNotPresent(), g.pageReady(),
                g.regions(), g.programs());
    }

    public static Map<String, Experiment> all() {
        Map<String, Experiment> m = new LinkedHashMap<>();
        List<Experiment> l = new ArrayList<>();
        Backing copy = new Backing.Copy(5 * MS);
        l.add(new Experiment("appc-wakeup-all",
                "the first enable is followed by a page-ready for token 0xffffffff before any fault",
                guest("appc-wakeup-all", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Pause(2000, Cpl.CPL0), new End())), 2000));
        l.add(new Experiment("appc-user-fault",
                "a CPL3 fault is delivered as #PF (error 0, CR2 = token, flags 1), then page-ready",
                guest("appc-user-fault", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new Touch(REMOTE + 0x1000, true, Cpl.CPL3), new End())), 2000));
        l.add(new Experiment("appc-kernel-send-always",
                "a CPL0 fault is delivered as #PF when EN has SEND_ALWAYS",
                guest("appc-kernel-send-always", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT | SEND_ALWAYS), new Sti(),
                                new Touch(REMOTE, false, Cpl.CPL0), new End())), 2000));
        l.add(new Experiment("appc-kernel-user-only",
                "without SEND_ALWAYS a CPL0 fault is not delivered: synthetic halt, then ready with no interrupt",
                guest("appc-kernel-user-only", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL0),
                                new End())), 2000));
        l.add(new Experiment("appc-irq-off",
                "with IF=0 at the access there is no async PF: the vCPU thread takes the fault itself",
                guest("appc-irq-off", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT | SEND_ALWAYS), new Cli(),
                                new Touch(REMOTE, false, Cpl.CPL0), new End())), 2000));
        l.add(new Experiment("appc-no-delivery-as-int",
                "EN without DELIVERY_AS_INT: nothing is injected, not even the wake-all; faults go through the"
                        + " synthetic halt",
                guest("appc-no-delivery-as-int", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN), new Sti(), new Touch(REMOTE, false, Cpl.CPL3), new End())),
                2000));
        l.add(new Experiment("appc-return-without-wait",
                "a #PF handler that returns at once: repeated_fault on the retry, then the synthetic halt",
                guest("appc-return-without-wait", NotPresentReaction.RETURN, copy,
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new End())), 2000));
        l.add(new Experiment("appc-unmap-in-flight",
                "the range is unmapped while the async fault is in flight: page-ready, then KVM_RUN fails EFAULT",
                guest("appc-unmap-in-flight", NotPresentReaction.SPIN, new Backing.Unmap(5 * MS),
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new End())), 2000));
        l.add(new Experiment("appc-sigbus-irq-on",
                "SIGBUS backing with IF=1: an endless not_present -> completed -> ready -> retry loop",
                guest("appc-sigbus-irq-on", NotPresentReaction.SPIN, new Backing.Sigbus(),
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new End())), 1000));
        l.add(new Experiment("appc-sigbus-irq-off",
                "SIGBUS backing with IF=0: the fault is synchronous and KVM_RUN fails EFAULT at once",
                guest("appc-sigbus-irq-off", NotPresentReaction.SPIN, new Backing.Sigbus(),
                        List.of(new EnableApf(EN | AS_INT | SEND_ALWAYS), new Cli(),
                                new Touch(REMOTE, false, Cpl.CPL0), new End())), 2000));
        l.add(new Experiment("appc-wake-without-page",
                "a wake without a page: the worker faults again and completes when the page arrives",
                guest("appc-wake-without-page", NotPresentReaction.SPIN, new Backing.WakeWithoutPage(3 * MS, 1, 3 * MS),
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new End())), 2000));
        l.add(new Experiment("never-answered",
                "a fault nobody answers: the guest spins in its #PF handler until the time limit",
                guest("never-answered", NotPresentReaction.SPIN, new Backing.Never(),
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new End())), 300));
        l.add(new Experiment("never-answered-irq-off",
                "a synchronous fault nobody answers: the watchdog's signal still ends KVM_RUN at the time limit",
                guest("never-answered-irq-off", NotPresentReaction.SPIN, new Backing.Never(),
                        List.of(new EnableApf(EN | AS_INT | SEND_ALWAYS), new Cli(), new Touch(REMOTE, false, Cpl.CPL0),
                                new End())), 300));
        l.add(new Experiment("xapic-kernel-send-always",
                "the SEND_ALWAYS kernel-mode fault with an xAPIC guest (MMIO EOI) instead of x2APIC",
                withApic(guest("xapic-kernel-send-always", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT | SEND_ALWAYS), new Sti(),
                                new Touch(REMOTE, false, Cpl.CPL0), new End())), ApicMode.XAPIC), 2000));
        l.add(new Experiment("enforce-cpuid-no-int",
                "with KVM_CAP_ENFORCE_PV_FEATURE_CPUID and no ASYNC_PF_INT in CPUID, writing MSR_KVM_ASYNC_PF_INT"
                        + " raises #GP",
                withCpuid(guest("enforce-cpuid-no-int", NotPresentReaction.SPIN, copy,
                        List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3),
                                new End())), new PvCpuid(true, false, false, true)), 2000));
        List<Step> many = new ArrayList<>(List.of(new EnableApf(EN | AS_INT), new Sti()));
        for (int i = 0; i < 12; i++) {
            many.add(new Touch(REMOTE + 0x1000L * i, false, Cpl.CPL3));
        }
        many.add(new End());
        l.add(new Experiments.Experiment("timing-user-faults",
                "twelve CPL3 faults served after 1 ms each: the timing figures of this host",
                guest("timing-user-faults", NotPresentReaction.SPIN, new Backing.Copy(MS), many), 3000));
        List<Step> v0 = List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE, false, Cpl.CPL3), new End());
        List<Step> v1 = List.of(new EnableApf(EN | AS_INT), new Sti(), new Touch(REMOTE + 0x8000, false, Cpl.CPL3),
                new End());
        l.add(new Experiment("two-vcpus", "two vCPUs fault on different pages; tokens carry the vCPU id",
                new TestGuest("two-vcpus", ApicMode.X2APIC, PvCpuid.all(), 0x5000, VECTOR, NotPresentReaction.SPIN,
                        LINUX_READY, List.of(new RemoteRegion("remote", REMOTE, 16, copy)), List.of(v0, v1)), 2000));
        for (Experiment e : l) {
            m.put(e.name(), e);
        }
        return m;
    }
}
