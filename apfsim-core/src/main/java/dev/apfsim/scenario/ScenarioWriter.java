package dev.apfsim.scenario;

import dev.apfsim.check.CheckSpec;
import dev.apfsim.perturb.Perturbation;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.TestKernel;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.kvm.x86.X86Policy;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.workload.Pattern;
import dev.apfsim.workload.TaskSpec;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.common.ScalarStyle;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;
import org.snakeyaml.engine.v2.representer.StandardRepresenter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes any {@link Scenario} as YAML that {@link ScenarioLoader} reads back to an equal scenario: every field
 * explicit, durations in nanoseconds, sizes with the largest exact unit, addresses and MSR values in hex (as
 * kernel people read them). Used for the minimal reproducers of {@code apfsim check}.
 */
public final class ScenarioWriter {
    private ScenarioWriter() {
    }

    public static String toYaml(Scenario s) {
        DumpSettings settings = DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setWidth(120)
                .setSchema(new CoreSchema()).build(); // the loader's schema: 0x300000 is a plain integer
        return new Dump(settings, new HexRepresenter(settings)).dumpToString(tree(s));
    }

    /** An address or MSR value, written as a plain {@code 0x...} integer. */
    private record Hex(long value) {
    }

    private static final class HexRepresenter extends StandardRepresenter {
        HexRepresenter(DumpSettings settings) {
            super(settings);
            representers.put(Hex.class, o -> representScalar(Tag.INT, Units.formatHex(((Hex) o).value()),
                    ScalarStyle.PLAIN));
        }
    }

    private static Hex hex(long v) {
        return new Hex(v);
    }

    /** Sizes as {@code 64MiB}, exact (bytes when no unit divides them). */
    private static String size(long bytes) {
        return Units.formatSize(bytes);
    }

    static Map<String, Object> tree(Scenario s) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("name", s.name());
        root.put("description", s.description());
        root.put("seed", s.seed());
        root.put("duration", ns(s.durationNs()));
        root.put("livelock_retries", s.livelockRetries());
        root.put("liveness_bound", ns(s.livenessBoundNs()));
        root.put("vm", map("vcpus", s.vcpus(), "memory", size(s.memoryBytes())));
        root.put("host", host(s));
        Map<String, Object> memory = new LinkedHashMap<>();
        List<Object> regions = new ArrayList<>();
        for (MemoryRegion r : s.regions()) {
            regions.add(map("start", hex(r.start()), "size", size(r.size()), "state", r.state().name().toLowerCase()));
        }
        memory.put("regions", regions);
        List<Object> failures = new ArrayList<>();
        for (FailureRule f : s.failures()) {
            failures.add(map("kind", f.kind().name().toLowerCase().replace('_', '-'), "start", hex(f.firstGfn() << 12),
                    "size", size(f.count() << 12), "fraction", f.fraction(), "from", ns(f.fromNs()),
                    "until", f.untilNs() == Long.MAX_VALUE ? "forever" : ns(f.untilNs())));
        }
        memory.put("failures", failures);
        root.put("memory", memory);
        root.put("guest", guest(s.guest()));
        List<Object> tasks = new ArrayList<>();
        for (TaskSpec t : s.tasks()) {
            tasks.add(task(t));
        }
        root.put("workload", map("tasks", tasks));
        root.put("check", check(s.check()));
        return root;
    }

    private static Map<String, Object> host(Scenario s) {
        KvmConfig k = s.kvm();
        HostCosts c = k.costs();
        X86Policy p = k.policy();
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("arch", k.arch().key());
        if (k.hostCpus().cpus() > 0) {
            h.put("cpus", k.hostCpus().cpus());
        }
        if (!k.hostCpus().pins().isEmpty()) {
            h.put("pin", new java.util.ArrayList<Object>(k.hostCpus().pins()));
        }
        h.put("pinning", k.hostCpus().pinning().name().toLowerCase());
        h.put("sched_slice", ns(k.hostCpus().sliceNs()));
        h.put("memory_limit", size(s.hostLimitBytes()));
        h.put("async_pf", k.asyncPf());
        h.put("lapic_in_kernel", k.lapicInKernel());
        h.put("enforce_pv_cpuid", k.enforcePvCpuid());
        h.put("cpuid", map("async_pf", k.cpuidAsyncPf(), "async_pf_vmexit", k.cpuidAsyncPfVmexit(),
                "async_pf_int", k.cpuidAsyncPfInt()));
        h.put("hlt_in_guest", k.hltInGuest());
        h.put("tdp", k.tdp());
        h.put("apf_id_start", k.apfIdStart());
        h.put("costs", map("vm_exit", ns(c.vmExitNs()), "vm_entry", ns(c.vmEntryNs()),
                "ept_violation", ns(c.eptViolationNs()), "minor_fault", ns(c.minorFaultNs()),
                "async_setup", ns(c.asyncSetupNs()), "msr", ns(c.msrNs()), "halt_wakeup", ns(c.haltWakeupNs()),
                "worker_dispatch", ns(c.workerDispatchNs()), "sigbus", ns(c.sigbusNs()),
                "pio_exit", ns(c.pioExitNs())));
        h.put("policy", map("page_ready_delivery", p.pageReadyDelivery() == X86Policy.PageReadyDelivery.INTERRUPT
                        ? "interrupt" : "pf-legacy",
                "cr0_pg_toggle", p.cr0PgToggle() == X86Policy.Cr0PgToggle.KEEP ? "keep" : "clear-queue",
                "deliver_when_paging_off", p.deliverWhenPagingOff(),
                "prefault", p.prefault() == X86Policy.PrefaultContext.SAME_CONTEXT ? "same-context" : "any-context",
                "lapic_disabled_fix", p.lapicDisabledFix(), "token_wrap_fix", p.tokenWrapFix(),
                "error_policy", p.errorPolicy().name().toLowerCase().replace('_', '-'),
                "nested_async_pf", p.nestedAsyncPf() == X86Policy.NestedAsyncPf.VMEXIT ? "vmexit" : "inject-l2",
                "nested_pending_save", p.nestedPendingSave().name().toLowerCase().replace('_', '-'),
                "arm64_injection", k.arm64Injection().key(),
                "page_ready_waits_for_ack", p.pageReadyWaitsForAck()));
        h.put("swap", map("latency", latency(s.swap().latency()), "queue_depth", s.swap().queueDepth()));
        h.put("remote", map("latency", latency(s.remote().latency()), "queue_depth", s.remote().queueDepth()));
        return h;
    }

    private static Map<String, Object> guest(GuestConfig g) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (g.isTest()) {
            TestKernel t = g.test();
            m.put("kind", "test");
            m.put("test", map("apf_area", hex(t.apfArea()), "vector", hex(t.vector()),
                    "on_not_present", t.onNotPresent().name().toLowerCase(java.util.Locale.ROOT),
                    "page_ready", t.pageReady().stream().map(s -> s.name().toLowerCase(java.util.Locale.ROOT)).toList(),
                    "apic", t.apic().name().toLowerCase(java.util.Locale.ROOT)));
            guestCommon(g, m);
            return m;
        }
        m.put("apf", switch (g.apf()) {
            case LINUX -> "linux";
            case LINUX_LEGACY -> "linux-legacy";
            case NEVER -> "never";
            case CUSTOM -> "custom";
        });
        m.put("en_bits", hex(g.enBits()));
        m.put("apf_vector", hex(g.apfVector()));
        m.put("pf_handler", g.pfHandler() == GuestConfig.PfHandler.WAIT ? "wait" : "return");
        m.put("version", g.version() == GuestConfig.KernelVersion.MAINLINE ? "mainline" : "6.12");
        m.put("page_ready_while_disabled",
                g.disabledPageReady() == GuestConfig.DisabledPageReady.RELEASE ? "release" : "eoi-only");
        guestCommon(g, m);
        return m;
    }

    /** The fields both guest kinds have. */
    private static void guestCommon(GuestConfig g, Map<String, Object> m) {
        m.put("timer_vector", hex(g.timerVector()));
        m.put("timeslice", ns(g.timesliceNs()));
        m.put("tick", ns(g.tickNs()));
        m.put("pf_handler_cost", ns(g.pfHandlerNs()));
        m.put("irq_handler_cost", ns(g.irqHandlerNs()));
        m.put("timer_handler_cost", ns(g.timerHandlerNs()));
        m.put("context_switch", ns(g.contextSwitchNs()));
        m.put("scheduler", switch (g.scheduler()) {
            case ROUND_ROBIN -> "round-robin";
            case CFS -> "cfs";
        });
    }

    private static Object task(TaskSpec t) {
        return switch (t) {
            case TaskSpec.Statistical st -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("type", "statistical");
                m.put("name", st.name());
                m.put("cpu", st.cpu());
                m.put("count", st.count());
                m.put("compute", latency(st.compute()));
                m.put("touches_per_op", st.touchesPerOp());
                m.put("working_set", map("start", hex(st.wsStart()), "size", st.wsBytes() == 0 ? (Object) 0L : size(st.wsBytes())));
                m.put("pattern", switch (st.pattern()) {
                    case Pattern.Uniform u -> "uniform";
                    case Pattern.Sequential q -> "sequential";
                    case Pattern.Zipfian z -> map("zipfian", z.theta());
                    case Pattern.HotCold h -> map("hot_cold", map("hot_fraction", h.hotFraction(),
                            "hot_probability", h.hotProbability()));
                });
                m.put("write_fraction", st.writeFraction());
                m.put("kernel_fraction", st.kernelFraction());
                m.put("irq_off_fraction", st.irqOffFraction());
                m.put("max_ops", st.maxOps());
                yield m;
            }
            case TaskSpec.Scripted sc -> {
                List<Object> steps = new ArrayList<>();
                for (Action a : sc.steps()) {
                    steps.add(step(a));
                }
                yield sc.startKernel() || !sc.startIf()
                        ? map("type", "script", "name", sc.name(), "cpu", sc.cpu(), "start",
                                map("cpl", sc.startKernel() ? 0 : 3, "if", sc.startIf() ? 1 : 0), "steps", steps)
                        : map("type", "script", "name", sc.name(), "cpu", sc.cpu(), "steps", steps);
            }
        };
    }

    static Object step(Action a) {
        return switch (a) {
            case Action.Touch t -> t.write() ? map("write", hex(t.gva())) : map("touch", hex(t.gva()));
            case Action.Compute c -> map("compute", ns(c.ns()));
            case Action.Sleep s -> map("sleep", ns(s.ns()));
            case Action.Cli c -> "cli";
            case Action.Sti s -> "sti";
            case Action.Popf p -> map("popf", p.interruptFlag());
            case Action.Hlt h -> "halt";
            case Action.Init i -> "init";
            case Action.CpuOffline o -> "cpu_offline";
            case Action.CpuOnline o -> "cpu_online";
            case Action.KernelMode k -> map("kernel", k.kernel());
            case Action.WrMsr w -> map("wrmsr", map("msr", hex(w.msr() & 0xffff_ffffL), "value", hex(w.value())));
            case Action.RdMsr r -> map("rdmsr", hex(r.msr() & 0xffff_ffffL));
            case Action.SetPaging p -> map("paging", p.on());
            case Action.SetLapicEnabled l -> map("lapic", l.on());
            case Action.SetCr3 c -> map("cr3", hex(c.cr3()));
            case Action.SetGuestMode g -> map("l2", g.l2());
            case Action.RegularFault f -> map("regular_pf", hex(f.address()));
            case Action.Io io -> io.in() ? map("in", hex(io.port()))
                    : map("out", map("port", hex(io.port()), "value", hex(io.value())));
            case Action.Hvc h -> throw new IllegalArgumentException("not a script step: " + a);
            case Action.Diag d -> throw new IllegalArgumentException("not a script step: " + a);
            case Action.OpDone o -> throw new IllegalArgumentException("not a script step: " + a);
            case Action.Exit e -> throw new IllegalArgumentException("not a script step: " + a);
            case Action.Op o -> throw new IllegalArgumentException("not a script step: " + a);
            case Action.Iret i -> throw new IllegalArgumentException("not a script step: " + a);
        };
    }

    private static Map<String, Object> check(CheckSpec c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schedule_seed", c.scheduleSeed());
        List<Object> ps = new ArrayList<>();
        for (Perturbation p : c.perturbations()) {
            ps.add(map("at", ns(p.timeNs()), "cpu", p.cpu(), "kind", p.kind().key(), "duration", ns(p.durationNs())));
        }
        m.put("perturbations", ps);
        List<Object> kinds = new ArrayList<>();
        for (Perturbation.Kind k : c.perturbKinds()) {
            kinds.add(k.key());
        }
        m.put("perturb", kinds);
        m.put("max_perturbations", c.maxPerturbations());
        m.put("jitter", c.jitter());
        if (c.choices().length() > 0) {
            m.put("choices", c.choices().toString());
        }
        if (!c.costLevels().isEmpty()) {
            Map<String, Object> levels = new LinkedHashMap<>();
            c.costLevels().forEach((k, l) -> levels.put(k.key(), l));
            m.put("cost_levels", levels);
        }
        if (c.maxEvents() != CheckSpec.DEFAULT_MAX_EVENTS) {
            m.put("max_events", c.maxEvents());
        }
        if (c.fairness() != dev.apfsim.check.Fairness.WEAK) {
            m.put("fairness", c.fairness().key());
        }
        return m;
    }

    static Object latency(LatencyDistribution d) {
        return switch (d) {
            case LatencyDistribution.Constant c -> map("type", "constant", "value", ns(c.ns()));
            case LatencyDistribution.Exponential e -> map("type", "exponential", "mean", ns(e.meanNs()));
            case LatencyDistribution.LogNormal l -> map("type", "lognormal", "median", ns(l.medianNs()),
                    "p99", ns(l.p99Ns()));
            case LatencyDistribution.Empirical e -> {
                List<Object> pts = new ArrayList<>();
                for (LatencyDistribution.Empirical.Point p : e.points()) {
                    pts.add(List.of(ns(p.ns()), p.cumulative()));
                }
                yield map("type", "empirical", "points", pts);
            }
        };
    }

    private static String ns(long v) {
        return v + "ns";
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
