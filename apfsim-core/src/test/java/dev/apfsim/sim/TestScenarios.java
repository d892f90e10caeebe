package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.kvm.x86.X86Policy;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.scenario.DeviceSpec;
import dev.apfsim.scenario.MemoryRegion;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.workload.TaskSpec;

import java.util.ArrayList;
import java.util.List;

/** Scenarios built in code for model tests (independent of the YAML loader). */
public final class TestScenarios {
    private TestScenarios() {
    }

    public static final long MS = 1_000_000;
    public static final long US = 1_000;

    /**
     * YAML of one vCPU whose page 0x300000 comes in 2 ms after its first touch, no timer tick, and {@code tasks}
     * (YAML list items, one per line, indented by four spaces).
     */
    public static String remotePageYaml(String... tasks) {
        StringBuilder b = new StringBuilder("""
                vm: {vcpus: 1, memory: 64MiB}
                host:
                  remote: {latency: 2ms}
                memory:
                  regions: [{start: 0x300000, size: 4KiB, state: remote}]
                guest: {tick: 0}
                workload:
                  tasks:
                """);
        for (String t : tasks) {
            b.append("    - ").append(t).append('\n');
        }
        return b.toString();
    }

    /** GPA of guest CPU {@code n}'s {@code apf_reason} area (what the Linux-like guest registers). */
    public static long area(int cpu) {
        return GuestKernel.APF_AREA_BASE + 64L * cpu;
    }

    /** EN value the Linux guest writes with KVM_FEATURE_ASYNC_PF_VMEXIT offered: area | ENABLED | VMEXIT | INT. */
    public static long linuxEn(int cpu) {
        return area(cpu) | ApfMsr.KVM_ASYNC_PF_ENABLED | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT
                | ApfMsr.KVM_ASYNC_PF_DELIVERY_AS_INT;
    }

    /** One vCPU, 64 MiB, the given pages remote (userfault) with the given latency, one scripted task. */
    static Scenario script(GuestConfig guest, KvmConfig kvm, long remoteLatency, List<MemoryRegion> regions,
                           List<FailureRule> failures, List<Action> steps) {
        return new Scenario("test", "", 1, 2_000 * MS, 1, 64L << 20, 64L << 20, kvm,
                new DeviceSpec(new LatencyDistribution.Constant(100 * US), 32),
                new DeviceSpec(new LatencyDistribution.Constant(remoteLatency), 64), regions, failures, guest,
                List.of(new TaskSpec.Scripted("t", 0, steps)), 1000);
    }

    static List<MemoryRegion> remote(long start, long size) {
        return List.of(new MemoryRegion(start, size, MemoryRegion.State.REMOTE));
    }

    public static Builder builder() {
        return new Builder();
    }

    // ---- configuration variants -------------------------------------------------------------------------

    public static GuestConfig guest(GuestConfig.ApfMode mode, long enBits) {
        GuestConfig g = GuestConfig.defaults();
        return new GuestConfig(mode, enBits, g.apfVector(), g.pfHandler(), g.timesliceNs(), g.tickNs(),
                g.pfHandlerNs(), g.irqHandlerNs(), g.timerHandlerNs(), g.contextSwitchNs());
    }

    public static GuestConfig withPfHandler(GuestConfig g, GuestConfig.PfHandler h) {
        return new GuestConfig(g.apf(), g.enBits(), g.apfVector(), h, g.timesliceNs(), g.tickNs(), g.pfHandlerNs(),
                g.irqHandlerNs(), g.timerHandlerNs(), g.contextSwitchNs(), g.scheduler());
    }

    public static GuestConfig withTick(GuestConfig g, long timesliceNs, long tickNs) {
        return new GuestConfig(g.apf(), g.enBits(), g.apfVector(), g.pfHandler(), timesliceNs, tickNs,
                g.pfHandlerNs(), g.irqHandlerNs(), g.timerHandlerNs(), g.contextSwitchNs(), g.scheduler());
    }

    /** KVM with the given switches, default costs and the Linux 6.12 policy. */
    public static KvmConfig kvm(boolean asyncPf, boolean lapicInKernel, boolean enforcePvCpuid, boolean cpuidAsyncPf,
                                boolean cpuidAsyncPfVmexit, boolean cpuidAsyncPfInt, boolean hltInGuest) {
        return new KvmConfig(asyncPf, lapicInKernel, enforcePvCpuid, cpuidAsyncPf, cpuidAsyncPfVmexit,
                cpuidAsyncPfInt, hltInGuest, HostCosts.defaults(), X86Policy.linux612());
    }

    public static KvmConfig noLapic() {
        return kvm(true, false, false, true, true, true, false);
    }

    public static KvmConfig hltInGuest() {
        return kvm(true, true, false, true, true, true, true);
    }

    public static KvmConfig noVmexitCpuid() {
        return kvm(true, true, false, true, false, true, false);
    }

    /** KVM_CAP_ENFORCE_PV_FEATURE_CPUID with all of leaf 0x40000001 cleared. */
    public static KvmConfig enforcedNoPvCpuid() {
        return kvm(true, true, true, false, false, false, false);
    }

    public static KvmConfig withErrorPolicy(KvmConfig k, X86Policy.ErrorPolicy p) {
        X86Policy pol = k.policy();
        return new KvmConfig(k.asyncPf(), k.lapicInKernel(), k.enforcePvCpuid(), k.cpuidAsyncPf(),
                k.cpuidAsyncPfVmexit(), k.cpuidAsyncPfInt(), k.hltInGuest(), k.costs(),
                new X86Policy(pol.pageReadyDelivery(), pol.cr0PgToggle(), pol.deliverWhenPagingOff(), pol.prefault(),
                        pol.lapicDisabledFix(), pol.tokenWrapFix(), p));
    }

    // ---- step shorthands ----------------------------------------------------------------------------------

    public static Action touch(long gva) {
        return new Action.Touch(gva, false);
    }

    public static Action compute(long ns) {
        return new Action.Compute(ns);
    }

    public static Action kernel(boolean on) {
        return new Action.KernelMode(on);
    }

    public static Action wrmsr(int msr, long value) {
        return new Action.WrMsr(msr, value);
    }

    public static Action rdmsr(int msr) {
        return new Action.RdMsr(msr);
    }

    /** A scenario built field by field; defaults: one vCPU, 64 MiB, Linux guest and 6.12 host, 10 ms remote. */
    public static final class Builder {
        private String name = "test";
        private long seed = 1;
        private long durationNs = 2_000 * MS;
        private int vcpus = 1;
        private long memoryBytes = 64L << 20;
        private long hostLimitBytes = 64L << 20;
        private KvmConfig kvm = KvmConfig.defaults();
        private GuestConfig guest = GuestConfig.defaults();
        private LatencyDistribution swapLatency = new LatencyDistribution.Constant(100 * US);
        private int swapDepth = 32;
        private LatencyDistribution remoteLatency = new LatencyDistribution.Constant(10 * MS);
        private int remoteDepth = 64;
        private final List<MemoryRegion> regions = new ArrayList<>();
        private final List<FailureRule> failures = new ArrayList<>();
        private final List<TaskSpec> tasks = new ArrayList<>();
        private int livelockRetries = 1000;

        public Builder name(String n) {
            name = n;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        public Builder duration(long ns) {
            durationNs = ns;
            return this;
        }

        public Builder vcpus(int n) {
            vcpus = n;
            return this;
        }

        public Builder memory(long bytes, long hostLimit) {
            memoryBytes = bytes;
            hostLimitBytes = hostLimit;
            return this;
        }

        public Builder kvm(KvmConfig k) {
            kvm = k;
            return this;
        }

        public Builder guest(GuestConfig g) {
            guest = g;
            return this;
        }

        public Builder remoteLatency(long ns) {
            return remoteLatency(new LatencyDistribution.Constant(ns));
        }

        public Builder remoteLatency(LatencyDistribution d) {
            remoteLatency = d;
            return this;
        }

        public Builder swapLatency(long ns) {
            return swapLatency(new LatencyDistribution.Constant(ns));
        }

        public Builder swapLatency(LatencyDistribution d) {
            swapLatency = d;
            return this;
        }

        public Builder region(long start, long size, MemoryRegion.State state) {
            regions.add(new MemoryRegion(start, size, state));
            return this;
        }

        public Builder remote(long start, long size) {
            return region(start, size, MemoryRegion.State.REMOTE);
        }

        public Builder swapped(long start, long size) {
            return region(start, size, MemoryRegion.State.SWAPPED);
        }

        public Builder failure(FailureRule.Kind kind, long firstGfn, long count, long fromNs, long untilNs) {
            failures.add(new FailureRule(kind, firstGfn, count, 1.0, fromNs, untilNs));
            return this;
        }

        public Builder task(String taskName, int cpu, Action... steps) {
            tasks.add(new TaskSpec.Scripted(taskName, cpu, List.of(steps)));
            return this;
        }

        public Builder task(TaskSpec spec) {
            tasks.add(spec);
            return this;
        }

        public Builder livelockRetries(int n) {
            livelockRetries = n;
            return this;
        }

        public Scenario build() {
            return new Scenario(name, "", seed, durationNs, vcpus, memoryBytes, hostLimitBytes, kvm,
                    new DeviceSpec(swapLatency, swapDepth), new DeviceSpec(remoteLatency, remoteDepth),
                    List.copyOf(regions), List.copyOf(failures), guest, List.copyOf(tasks), livelockRetries);
        }
    }
}
