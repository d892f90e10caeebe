package dev.apfsim.scenario;

import dev.apfsim.host.HostArch;
import dev.apfsim.kvm.arm64.Arm64Injection;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.kvm.HostCpuConfig;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.kvm.x86.X86Policy;
import dev.apfsim.memory.LatencyDistribution;
import org.snakeyaml.engine.v2.nodes.Node;

import java.util.Map;

import static dev.apfsim.scenario.NodeReader.PAGE;
import static dev.apfsim.scenario.NodeReader.ordered;

/**
 * The {@code host} section: the memory limit, KVM's switches, CPU costs and design policies (x86 and arm64), and the
 * swap and remote backing devices. Anything not written is {@link KvmConfig#defaults()} (Linux 6.12).
 */
final class HostReader {
    private static final Map<String, X86Policy.PageReadyDelivery> PAGE_READY = ordered(
            "interrupt", X86Policy.PageReadyDelivery.INTERRUPT, "pf-legacy", X86Policy.PageReadyDelivery.PF_LEGACY);
    private static final Map<String, X86Policy.Cr0PgToggle> CR0 = ordered(
            "keep", X86Policy.Cr0PgToggle.KEEP, "clear-queue", X86Policy.Cr0PgToggle.CLEAR_QUEUE);
    private static final Map<String, X86Policy.PrefaultContext> PREFAULT = ordered(
            "same-context", X86Policy.PrefaultContext.SAME_CONTEXT,
            "any-context", X86Policy.PrefaultContext.ANY_CONTEXT);
    private static final Map<String, X86Policy.ErrorPolicy> ERROR_POLICY = ordered(
            "ignore", X86Policy.ErrorPolicy.IGNORE, "error-gfn", X86Policy.ErrorPolicy.ERROR_GFN,
            "error-gfn-hash", X86Policy.ErrorPolicy.ERROR_GFN_HASH,
            "efault-request", X86Policy.ErrorPolicy.EFAULT_REQUEST,
            "inject-error", X86Policy.ErrorPolicy.INJECT_ERROR);
    private static final Map<String, X86Policy.NestedAsyncPf> NESTED_ASYNC_PF = ordered(
            "vmexit", X86Policy.NestedAsyncPf.VMEXIT,
            "inject-l2", X86Policy.NestedAsyncPf.INJECT_L2);
    private static final Map<String, X86Policy.NestedPendingSave> NESTED_PENDING_SAVE = ordered(
            "as-pf", X86Policy.NestedPendingSave.AS_PF,
            "async-flag", X86Policy.NestedPendingSave.ASYNC_FLAG,
            "exit-at-queue", X86Policy.NestedPendingSave.EXIT_AT_QUEUE);

    private static final Map<String, HostArch> ARCH = ordered("x86", HostArch.X86, "arm64", HostArch.ARM64,
            "s390", HostArch.S390);
    private static final Map<String, Arm64Injection> ARM64_INJECTION = ordered(
            "pc-range", Arm64Injection.PC_RANGE, "unguarded", Arm64Injection.UNGUARDED,
            "sdei", Arm64Injection.SDEI);

    private static final Map<String, HostCpuConfig.Pinning> PINNING = ordered(
            "floating", HostCpuConfig.Pinning.FLOATING, "pinned", HostCpuConfig.Pinning.PINNED);

    /** {@code apf.id} is a 20-bit counter (token = id << 12 | vcpu_id, {@code alloc_apf_token}). */
    private static final int APF_ID_MAX = 0xfffff;

    private final NodeReader r;
    private final LatencyReader latencies;

    HostReader(NodeReader r, LatencyReader latencies) {
        this.r = r;
        this.latencies = latencies;
    }

    /** {@code host.memory_limit}; default and maximum {@code vm.memory}. */
    long memoryLimit(MapView host, long memory) {
        long limit = memory;
        if (host.has("memory_limit")) {
            Node n = host.get("memory_limit");
            String p = host.path("memory_limit");
            limit = r.size(n, p);
            r.pageMultiple(n, p, limit);
            if (limit < PAGE) {
                throw r.error(n, p, "expected a size of at least 4KiB, got " + r.scalar(n, p, "").strip());
            }
            if (limit > memory) {
                throw r.error(n, p, "expected at most vm.memory (" + Units.formatSize(memory) + "), got "
                        + r.scalar(n, p, "").strip());
            }
        }
        return limit;
    }

    KvmConfig kvm(MapView host) {
        KvmConfig d = KvmConfig.defaults();
        MapView cpuid = r.section(host, "cpuid", Schema.CPUID);
        MapView c = r.section(host, "costs", Schema.COSTS);
        HostCosts dc = d.costs();
        HostCosts costs = new HostCosts(
                r.durField(c, "vm_exit", dc.vmExitNs()),
                r.durField(c, "vm_entry", dc.vmEntryNs()),
                r.durField(c, "ept_violation", dc.eptViolationNs()),
                r.durField(c, "minor_fault", dc.minorFaultNs()),
                r.durField(c, "async_setup", dc.asyncSetupNs()),
                r.durField(c, "msr", dc.msrNs()),
                r.durField(c, "halt_wakeup", dc.haltWakeupNs()),
                r.durField(c, "worker_dispatch", dc.workerDispatchNs()),
                r.durField(c, "sigbus", dc.sigbusNs()),
                r.durField(c, "pio_exit", dc.pioExitNs()));
        MapView p = r.section(host, "policy", Schema.POLICY);
        X86Policy dp = d.policy();
        X86Policy policy = new X86Policy(
                r.choiceField(p, "page_ready_delivery", PAGE_READY, dp.pageReadyDelivery()),
                r.choiceField(p, "cr0_pg_toggle", CR0, dp.cr0PgToggle()),
                r.boolField(p, "deliver_when_paging_off", dp.deliverWhenPagingOff()),
                r.choiceField(p, "prefault", PREFAULT, dp.prefault()),
                r.boolField(p, "lapic_disabled_fix", dp.lapicDisabledFix()),
                r.boolField(p, "token_wrap_fix", dp.tokenWrapFix()),
                r.choiceField(p, "error_policy", ERROR_POLICY, dp.errorPolicy()),
                r.choiceField(p, "nested_async_pf", NESTED_ASYNC_PF, dp.nestedAsyncPf()),
                r.choiceField(p, "nested_pending_save", NESTED_PENDING_SAVE, dp.nestedPendingSave()),
                r.boolField(p, "page_ready_waits_for_ack", dp.pageReadyWaitsForAck()));
        HostCpuConfig dh = d.hostCpus();
        java.util.List<Integer> pins = new java.util.ArrayList<>();
        java.util.List<Node> pinNodes = r.list(host.get("pin"), host.path("pin"), "host CPUs");
        int cpuCount = r.intField(host, "cpus", 1, 4096, dh.cpus());
        for (int i = 0; i < pinNodes.size(); i++) {
            pins.add((int) r.integer(pinNodes.get(i), host.path("pin") + "[" + i + "]", 0,
                    cpuCount > 0 ? cpuCount - 1 : 4095));
        }
        HostCpuConfig hostCpus = new HostCpuConfig(cpuCount,
                r.choiceField(host, "pinning", PINNING, pins.isEmpty() ? dh.pinning() : HostCpuConfig.Pinning.PINNED),
                r.durField(host, "sched_slice", dh.sliceNs()), pins.isEmpty() ? dh.pins() : pins);
        if (hostCpus.sliceNs() <= 0) {
            throw r.error(host.get("sched_slice"), host.path("sched_slice"), "expected a duration above 0");
        }
        return new KvmConfig(
                r.boolField(host, "async_pf", d.asyncPf()),
                r.boolField(host, "lapic_in_kernel", d.lapicInKernel()),
                r.boolField(host, "enforce_pv_cpuid", d.enforcePvCpuid()),
                r.boolField(cpuid, "async_pf", d.cpuidAsyncPf()),
                r.boolField(cpuid, "async_pf_vmexit", d.cpuidAsyncPfVmexit()),
                r.boolField(cpuid, "async_pf_int", d.cpuidAsyncPfInt()),
                r.boolField(host, "hlt_in_guest", d.hltInGuest()),
                costs, policy,
                r.boolField(host, "tdp", d.tdp()),
                r.intField(host, "apf_id_start", 0, APF_ID_MAX, d.apfIdStart()),
                r.choiceField(host, "arch", ARCH, d.arch()),
                r.choiceField(p, "arm64_injection", ARM64_INJECTION, d.arm64Injection()),
                hostCpus);
    }

    /** {@code host.swap}; defaults as documented: lognormal median 30us, p99 120us, queue depth 32. */
    DeviceSpec swap(MapView host) {
        return device(r.section(host, "swap", Schema.DEVICE),
                new LatencyDistribution.LogNormal(30 * Units.US, 120 * Units.US), 32);
    }

    /** {@code host.remote}; defaults as documented: constant 1ms, queue depth 64. */
    DeviceSpec remote(MapView host) {
        return device(r.section(host, "remote", Schema.DEVICE), new LatencyDistribution.Constant(Units.MS), 64);
    }

    private DeviceSpec device(MapView m, LatencyDistribution defLatency, int defDepth) {
        LatencyDistribution lat = m.has("latency") ? latencies.latency(m.get("latency"), m.path("latency"), defLatency)
                : defLatency;
        int depth = r.intField(m, "queue_depth", 1, 1_000_000, defDepth);
        return new DeviceSpec(lat, depth);
    }
}
