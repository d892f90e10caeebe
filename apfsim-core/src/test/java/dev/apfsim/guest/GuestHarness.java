package dev.apfsim.guest;

import dev.apfsim.engine.Simulator;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.x86.X86Exit;
import dev.apfsim.kvm.x86.Lapic;
import dev.apfsim.arch.x86.X86CpuState;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;
import dev.apfsim.workload.ScriptProgram;
import dev.apfsim.guest.x86.X86Entry;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest kernel alone, driven by hand as the host would drive it: run a CPU until it exits, deliver an
 * exception or an interrupt, write the shared control area. For guest behaviours the host never produces
 * on its own (a page-ready before its #PF, an async #PF into an IF=0 region).
 */
final class GuestHarness {
    final Simulator sim = new Simulator(1);
    final Metrics metrics;
    final Tracer tracer = new Tracer();
    final List<TraceEvent> events = new ArrayList<>();
    final GuestRam ram = new GuestRam(64L << 20);
    final HostMemory memory;
    final GuestKernel kernel;
    final List<X86CpuState> states = new ArrayList<>();
    final List<Lapic> lapics = new ArrayList<>();
    final List<String> panics = new ArrayList<>();
    final List<X86Entry> entries = new ArrayList<>();
    long now;

    GuestHarness(int cpus, GuestConfig config) {
        metrics = new Metrics(cpus);
        memory = new HostMemory(sim, (64L << 20) >>> 12, (64L << 20) >>> 12, List.of(), 5_000);
        tracer.attach(events::add);
        kernel = new GuestKernel(sim, config, metrics, tracer, ram, memory::accessMapped, new GuestObserver() {
            public void guestPanic(long time, int cpu, String message) {
                panics.add(message);
            }
        });
        for (int i = 0; i < cpus; i++) {
            X86CpuState st = new X86CpuState();
            Lapic lapic = new Lapic();
            states.add(st);
            lapics.add(lapic);
            entries.add(kernel.addCpu(new GuestCpu.Platform() {
                public X86CpuState state() {
                    return st;
                }

                public Lapic interruptController() {
                    return lapic;
                }

                public void sendIpi(int cpu, int vector) {
                    lapics.get(cpu).acceptFixed(vector);
                }

                public void timerInterrupt() {
                }

                public int timerVector() {
                    return ApfMsr.LOCAL_TIMER_VECTOR;
                }

                public int rescheduleVector() {
                    return ApfMsr.RESCHEDULE_VECTOR;
                }

                public boolean offersPfVmexit() {
                    return false;
                }

                public boolean offersAsyncPfInt() {
                    return true;
                }

                public boolean offersAsyncPf() {
                    return true;
                }
            }, X86Entry::new));
        }
    }

    /** A Linux guest without the periodic tick (nothing here runs the simulator's events). */
    static GuestConfig linuxNoTick() {
        GuestConfig g = GuestConfig.defaults();
        return new GuestConfig(g.apf(), g.enBits(), g.apfVector(), g.pfHandler(), g.timesliceNs(), 0,
                g.pfHandlerNs(), g.irqHandlerNs(), g.timerHandlerNs(), g.contextSwitchNs());
    }

    Task task(String name, int cpu, Action... steps) {
        return kernel.addTask(name, cpu, new ScriptProgram(List.of(steps)));
    }

    GuestCpu cpu(int i) {
        return kernel.cpu(i);
    }

    /** CPU {@code i}'s x86 entry code: where the host's injections go. */
    X86Entry x86(int i) {
        return entries.get(i);
    }

    /** Runs CPU {@code i} until its next exit; MSR exits get a successful result. */
    GuestExit run(int i) {
        GuestExit e = cpu(i).run(now, Long.MAX_VALUE);
        now = Math.max(now, e.at());
        if (e instanceof X86Exit.WrMsr || e instanceof X86Exit.RdMsr) {
            x86(i).msrResult(false, 0);
        }
        return e;
    }

    /** Runs CPU {@code i} through MSR exits until another kind of exit. */
    GuestExit runPastMsrs(int i) {
        GuestExit e;
        do {
            e = run(i);
        } while (e instanceof X86Exit.WrMsr || e instanceof X86Exit.RdMsr);
        return e;
    }

    /** What the host does at "page not present": flags = 1, then a #PF with CR2 = token. */
    void injectAsyncPf(int i, long token) {
        ram.write32(cpu(i).areaGpa() + ApfMsr.OFFSET_FLAGS, ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT);
        x86(i).deliverException(now, ApfMsr.PF_VECTOR, 0, token);
    }

    /** A #PF that is not an async one: flags stay 0, CR2 = the faulting address. */
    void injectRegularPf(int i, long address) {
        x86(i).deliverException(now, ApfMsr.PF_VECTOR, 0, address);
    }

    /** What the host does at "page ready": token word = token, then the vector through the LAPIC. */
    void injectPageReady(int i, long token) {
        ram.write32(cpu(i).areaGpa() + ApfMsr.OFFSET_TOKEN, (int) token);
        lapics.get(i).acceptFixed(ApfMsr.HYPERVISOR_CALLBACK_VECTOR);
        int v = lapics.get(i).acknowledge();
        cpu(i).deliverInterrupt(now, v);
    }

    <T extends TraceEvent> List<T> all(Class<T> type) {
        return events.stream().filter(type::isInstance).map(type::cast).toList();
    }
}
