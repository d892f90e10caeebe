package dev.apfsim.cli.conform;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.guest.TestKernel;
import dev.apfsim.host.HostArch;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.guest.TestGuest.ApicMode;
import dev.apfsim.realkvm.guest.TestGuest.Cpl;
import dev.apfsim.realkvm.guest.TestGuest.NotPresentReaction;
import dev.apfsim.realkvm.guest.TestGuest.PvCpuid;
import dev.apfsim.realkvm.guest.TestGuest.ReadyStep;
import dev.apfsim.realkvm.guest.TestGuest.RemoteRegion;
import dev.apfsim.realkvm.guest.TestGuest.Step;
import dev.apfsim.realkvm.kvm.KvmAbi;
import dev.apfsim.realkvm.uffd.Backing;
import dev.apfsim.scenario.MemoryRegion;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.workload.TaskSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * The real side's guest for a scenario: the test guest that does on the real KVM what the scenario's guest does
 * in the model. A test guest ({@code guest.kind: test}) is the same record field for field ({@link #fromTest}).
 * A scenario's Linux-like guest with script tasks maps onto the guest Linux boots into:
 * {@code kvm_guest_cpu_init} writes INT then EN with IF=0 at CPL0, interrupts come on, and each vCPU runs its
 * tasks' steps (user mode at CPL3; {@code kernel: true} or {@code cli} at CPL0). Its #PF handler waits for
 * page-ready with IF=1, as {@code kvm_async_pf_task_wait_schedule} does (the tiny guest spins where Linux
 * sleeps the task; the vCPU's KVM events are the same), and panics where Linux's {@code __kvm_handle_async_pf}
 * does: on an async #PF in kernel mode. Its page-ready handler is {@code sysvec_kvm_asyncpf_interrupt}'s order:
 * read the token, zero it, ACK, EOI. Remote regions become userfaultfd slots served after the remote latency,
 * failure rules their backings.
 */
public final class ScenarioGuest {
    private ScenarioGuest() {
    }

    /** The scenario cannot be run on the real KVM; the message names the field. */
    public static final class Unsupported extends RuntimeException {
        public Unsupported(String message) {
            super(message);
        }
    }

    private static final List<ReadyStep> LINUX_READY = List.of(ReadyStep.READ_TOKEN, ReadyStep.ZERO_TOKEN,
            ReadyStep.ACK, ReadyStep.EOI);

    /** One {@code pause} of a {@code pause: N} step, as the scenario reader prices it (ScriptReader.PAUSE_NS). */
    static final long PAUSE_NS = 40;

    public static TestGuest of(Scenario s) {
        if (s.kvm().arch() != HostArch.X86) {
            throw new Unsupported("host.arch: conform runs x86 guests (this host's KVM), the scenario is "
                    + s.kvm().arch().name().toLowerCase(java.util.Locale.ROOT));
        }
        return s.guest().isTest() ? fromTest(s) : fromLinux(s);
    }

    /**
     * A test guest ({@code guest.kind: test}) maps field for field: its APF area, vector, APIC, #PF reaction and
     * page-ready steps; each task's start state ({@code start: {cpl, if}}: an {@code sti} first when IF is set)
     * and steps. {@code enable_apf} (INT, then EN = area | flags) is the real guest's EnableApf, {@code pause: N}
     * its pause loop, {@code out}/{@code in} its reports to the VMM. {@code sleep} becomes {@code spin}: the real
     * test guest has no scheduler to sleep a task on, and the vCPU's KVM events are the same.
     */
    static TestGuest fromTest(Scenario s) {
        TestKernel k = s.guest().test();
        List<List<Step>> programs = new ArrayList<>();
        for (int v = 0; v < s.vcpus(); v++) {
            List<Step> p = new ArrayList<>();
            long area = k.area(v);
            for (TaskSpec t : s.tasks()) {
                if (t.cpu() != v) {
                    continue;
                }
                if (!(t instanceof TaskSpec.Scripted sc)) {
                    throw new Unsupported("workload.tasks." + t.name() + ": conform runs script tasks");
                }
                boolean kernel = sc.startKernel();
                if (sc.startIf()) {
                    p.add(new TestGuest.Sti());
                }
                List<Action> steps = sc.steps();
                for (int i = 0; i < steps.size(); i++) {
                    Action a = steps.get(i);
                    Cpl cpl = kernel ? Cpl.CPL0 : Cpl.CPL3;
                    if (a instanceof Action.WrMsr(int msr, long value) && msr == KvmAbi.MSR_KVM_ASYNC_PF_INT
                            && value == k.vector() && i + 1 < steps.size()
                            && steps.get(i + 1) instanceof Action.WrMsr(int en, long ev)
                            && en == KvmAbi.MSR_KVM_ASYNC_PF_EN && (ev & ~0x3fL) == area) {
                        p.add(new TestGuest.EnableApf(ev & 0x3f));
                        i++;
                        continue;
                    }
                    switch (a) {
                        case Action.KernelMode km -> kernel = km.kernel();
                        case Action.Touch tc -> p.add(new TestGuest.Touch(tc.gva(), tc.write(), cpl));
                        case Action.Compute c -> p.add(new TestGuest.Pause((int) Math.clamp(c.ns() / PAUSE_NS, 1,
                                1_000_000), cpl));
                        case Action.Io io when io.in() -> p.add(new TestGuest.In());
                        case Action.Io io -> p.add(new TestGuest.Report((int) io.value(), cpl));
                        default -> p.add(common(a, t.name()));
                    }
                }
            }
            p.add(new TestGuest.End());
            programs.add(p);
        }
        NotPresentReaction reaction = switch (k.onNotPresent()) {
            case SLEEP, SPIN -> NotPresentReaction.SPIN;
            case RETURN -> NotPresentReaction.RETURN;
            case PANIC -> NotPresentReaction.PANIC;
        };
        List<ReadyStep> ready = k.pageReady().stream().map(r -> ReadyStep.valueOf(r.name())).toList();
        ApicMode apic = k.apic() == TestKernel.Apic.XAPIC ? ApicMode.XAPIC : ApicMode.X2APIC;
        return checked(new TestGuest(s.name(), apic, cpuid(s), k.apfArea(), k.vector(), reaction, ready, regions(s),
                programs));
    }

    /** A Linux-like guest with script tasks, as the class comment says. */
    static TestGuest fromLinux(Scenario s) {
        GuestConfig g = s.guest();
        long en = enFlags(s);
        List<List<Step>> programs = new ArrayList<>();
        boolean kernelDelivery = false;
        for (int v = 0; v < s.vcpus(); v++) {
            List<Step> p = new ArrayList<>();
            switch (g.apf()) {
                case NEVER -> {
                }
                case LINUX_LEGACY -> p.add(new TestGuest.WriteMsr(KvmAbi.MSR_KVM_ASYNC_PF_EN,
                        GuestKernel.APF_AREA_BASE + 64L * v | en));
                default -> p.add(new TestGuest.EnableApf(en));
            }
            p.add(new TestGuest.Sti());
            boolean kernel = false, irqOff = false;
            for (TaskSpec t : s.tasks()) {
                if (t.cpu() != v) {
                    continue;
                }
                if (!(t instanceof TaskSpec.Scripted sc)) {
                    throw new Unsupported("workload.tasks." + t.name() + ": conform runs script tasks (a statistical"
                            + " task has no fixed sequence of accesses to repeat on the real KVM)");
                }
                for (Action a : sc.steps()) {
                    switch (a) {
                        case Action.Touch tc -> {
                            Cpl cpl = kernel || irqOff ? Cpl.CPL0 : Cpl.CPL3;
                            p.add(new TestGuest.Touch(tc.gva(), tc.write(), cpl));
                            kernelDelivery |= cpl == Cpl.CPL0 && !irqOff
                                    && (en & KvmAbi.KVM_ASYNC_PF_SEND_ALWAYS) != 0;
                        }
                        case Action.KernelMode km -> kernel = km.kernel();
                        case Action.Cli c -> {
                            irqOff = true;
                            p.add(common(a, t.name()));
                        }
                        case Action.Sti c -> {
                            irqOff = false;
                            p.add(common(a, t.name()));
                        }
                        case Action.Compute c -> p.add(new TestGuest.Compute((int) Math.clamp(c.ns() / 1000, 1,
                                1_000_000), kernel || irqOff ? Cpl.CPL0 : Cpl.CPL3));
                        default -> p.add(common(a, t.name()));
                    }
                }
            }
            p.add(new TestGuest.End());
            programs.add(p);
        }
        // Linux (__kvm_handle_async_pf) panics on an async #PF taken in kernel mode; this guest has one handler
        // for both modes, so it panics when the scenario makes KVM deliver one at CPL0.
        NotPresentReaction reaction = g.pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT
                ? NotPresentReaction.RETURN : kernelDelivery ? NotPresentReaction.PANIC : NotPresentReaction.SPIN;
        return checked(new TestGuest(s.name(), ApicMode.X2APIC, cpuid(s), GuestKernel.APF_AREA_BASE, g.apfVector(),
                reaction, LINUX_READY, regions(s), programs));
    }

    /** The steps both kinds of guest write the same way. */
    private static Step common(Action a, String task) {
        return switch (a) {
            case Action.Cli c -> new TestGuest.Cli();
            case Action.Sti c -> new TestGuest.Sti();
            case Action.Hlt h -> new TestGuest.Hlt();
            case Action.WrMsr w -> new TestGuest.WriteMsr(w.msr(), w.value());
            case Action.RdMsr r -> new TestGuest.ReadMsr(r.msr());
            default -> throw new Unsupported("workload.tasks." + task + ": the step " + a.getClass().getSimpleName()
                    + " has no counterpart in the real-KVM test guest");
        };
    }

    /** What CPUID leaf 0x40000001 offers, as the scenario's host says. */
    private static PvCpuid cpuid(Scenario s) {
        return new PvCpuid(s.kvm().cpuidAsyncPf(), s.kvm().cpuidAsyncPfVmexit(), s.kvm().cpuidAsyncPfInt(),
                s.kvm().enforcePvCpuid());
    }

    private static TestGuest checked(TestGuest tg) {
        List<String> problems = tg.problems();
        if (!problems.isEmpty()) {
            throw new Unsupported(String.join("; ", problems));
        }
        return tg;
    }

    /** The flags of the guest's EN write, as {@code ApfRegistration} (the model's kvm_guest_cpu_init) makes them. */
    static long enFlags(Scenario s) {
        long vmexit = s.kvm().cpuidAsyncPfVmexit() ? KvmAbi.KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT : 0;
        GuestConfig g = s.guest();
        return switch (g.apf()) {
            case NEVER -> 0;
            case LINUX -> KvmAbi.KVM_ASYNC_PF_ENABLED | KvmAbi.KVM_ASYNC_PF_DELIVERY_AS_INT | vmexit;
            case LINUX_LEGACY -> KvmAbi.KVM_ASYNC_PF_ENABLED | KvmAbi.KVM_ASYNC_PF_SEND_ALWAYS | vmexit;
            case CUSTOM -> g.enBits();
        };
    }

    /** Each remote region as a userfaultfd slot; the failure rule covering its first page picks the backing. */
    static List<RemoteRegion> regions(Scenario s) {
        List<RemoteRegion> out = new ArrayList<>();
        long latency = latencyNs(s.remote().latency());
        for (int i = 0; i < s.regions().size(); i++) {
            MemoryRegion r = s.regions().get(i);
            String field = "memory.regions[" + i + "]";
            if (r.state() != MemoryRegion.State.REMOTE) {
                if (r.state() == MemoryRegion.State.RESIDENT) {
                    continue; // resident memory: no fault, nothing to serve
                }
                throw new Unsupported(field + ": conform serves remote regions only (state "
                        + r.state().name().toLowerCase(java.util.Locale.ROOT) + ")");
            }
            FailureRule rule = null;
            for (FailureRule f : s.failures()) {
                if (f.covers(r.start() >> 12, s.seed())) {
                    rule = f;
                    break;
                }
            }
            out.add(new RemoteRegion("region" + i, r.start(), (int) (r.size() >> 12), backing(rule, latency, field)));
        }
        return out;
    }

    static Backing backing(FailureRule f, long latency, String field) {
        if (f == null) {
            return new Backing.Copy(latency);
        }
        long from = f.fromNs();
        return switch (f.kind()) {
            case SIGBUS -> new Backing.Sigbus();
            case NEVER -> new Backing.Never();
            // the VMM unmaps the range at `from` (and wakes its waiters, as closing the userfaultfd would)
            case UNMAPPED -> new Backing.Unmap(from);
            case SPURIOUS_WAKE -> new Backing.WakeWithoutPage(from, 1, Math.max(0, latency - from));
            case ZERO_FILL -> new Backing.Unregister(from);
            case HWPOISON -> throw new Unsupported("memory.failures: hwpoison cannot be served by userfaultfd"
                    + " (it needs MADV_HWPOISON, which changes the host)");
        };
    }

    static long latencyNs(LatencyDistribution d) {
        return switch (d) {
            case LatencyDistribution.Constant c -> c.ns();
            case LatencyDistribution.LogNormal l -> l.medianNs();
            default -> Math.round(d.mean());
        };
    }
}
