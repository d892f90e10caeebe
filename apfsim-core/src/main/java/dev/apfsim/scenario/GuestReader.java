package dev.apfsim.scenario;

import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.TestKernel;
import dev.apfsim.host.HostArch;
import org.snakeyaml.engine.v2.nodes.Node;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.apfsim.scenario.NodeReader.ordered;

/**
 * The {@code guest} section: how the guest kernel enables and handles async PF, and its costs; or, with
 * {@code kind: test}, a test guest described by its handlers ({@code guest.test}).
 */
final class GuestReader {
    private static final Map<String, GuestConfig.ApfMode> APF = ordered(
            "linux", GuestConfig.ApfMode.LINUX, "linux-legacy", GuestConfig.ApfMode.LINUX_LEGACY,
            "never", GuestConfig.ApfMode.NEVER,
            "custom", GuestConfig.ApfMode.CUSTOM);
    private static final Map<String, GuestConfig.PfHandler> PF_HANDLER = ordered(
            "wait", GuestConfig.PfHandler.WAIT, "return", GuestConfig.PfHandler.RETURN_WITHOUT_WAIT);
    static final Map<String, GuestConfig.SchedulerPolicy> SCHEDULER = ordered(
            "round-robin", GuestConfig.SchedulerPolicy.ROUND_ROBIN, "cfs", GuestConfig.SchedulerPolicy.CFS);
    private static final Map<String, Boolean> KIND = ordered("linux", false, "test", true);
    static final Map<String, TestKernel.NotPresent> NOT_PRESENT = ordered(
            "sleep", TestKernel.NotPresent.SLEEP, "spin", TestKernel.NotPresent.SPIN,
            "return", TestKernel.NotPresent.RETURN, "panic", TestKernel.NotPresent.PANIC);
    static final Map<String, TestKernel.ReadyStep> READY = ordered(
            "read-token", TestKernel.ReadyStep.READ_TOKEN, "zero-token", TestKernel.ReadyStep.ZERO_TOKEN,
            "ack", TestKernel.ReadyStep.ACK, "eoi", TestKernel.ReadyStep.EOI);
    static final Map<String, TestKernel.Apic> APIC = ordered("x2apic", TestKernel.Apic.X2APIC,
            "xapic", TestKernel.Apic.XAPIC);
    /** Fields of a Linux guest that a test guest does not have (its handlers and its script say it). */
    private static final List<String> LINUX_ONLY = List.of("apf", "en_bits", "apf_vector", "pf_handler", "version",
            "page_ready_while_disabled");
    static final Map<String, GuestConfig.DisabledPageReady> DISABLED_PAGE_READY = ordered(
            "eoi-only", GuestConfig.DisabledPageReady.EOI_ONLY, "release", GuestConfig.DisabledPageReady.RELEASE);
    static final Map<String, GuestConfig.KernelVersion> VERSION = ordered(
            "6.12", GuestConfig.KernelVersion.V6_12, "mainline", GuestConfig.KernelVersion.MAINLINE);

    /** en_bits default for apf: custom: ENABLED | DELIVERY_AS_INT. */
    static final long CUSTOM_EN_BITS = 0x9;
    /** A test guest's defaults: the page-ready vector and the handler order of Linux's sysvec_kvm_asyncpf_interrupt. */
    static final int TEST_VECTOR = 0xf3;
    static final List<TestKernel.ReadyStep> LINUX_READY = List.of(TestKernel.ReadyStep.READ_TOKEN,
            TestKernel.ReadyStep.ZERO_TOKEN, TestKernel.ReadyStep.ACK, TestKernel.ReadyStep.EOI);

    private final NodeReader r;
    private final HostArch arch;
    private final long memory;
    private final int vcpus;

    GuestReader(NodeReader r, HostArch arch, long memory, int vcpus) {
        this.r = r;
        this.arch = arch;
        this.memory = memory;
        this.vcpus = vcpus;
    }

    GuestConfig guest(MapView g) {
        GuestConfig d = GuestConfig.defaults();
        boolean test = r.choiceField(g, "kind", KIND, false);
        if (!test && g.has("test")) {
            throw r.error(g.keyNode("test"), g.path("test"), "a test guest's handlers need kind: test (kind is "
                    + "linux)");
        }
        TestKernel tk = null;
        if (test) {
            if (arch != HostArch.X86) {
                throw r.error(g.get("kind"), g.path("kind"), "test guests are x86 guests (host.arch is "
                        + arch.name().toLowerCase(java.util.Locale.ROOT) + ")");
            }
            for (String k : LINUX_ONLY) {
                if (g.has(k)) {
                    throw r.error(g.keyNode(k), g.path(k), "a test guest has no " + k + " (its kernel does not "
                            + "enable async PF: write enable_apf or wrmsr steps; the handlers are guest.test)");
                }
            }
            tk = testKernel(r.section(g, "test", Schema.TEST_GUEST));
        }
        GuestConfig.ApfMode apf = test ? GuestConfig.ApfMode.NEVER : r.choiceField(g, "apf", APF, d.apf());
        long enBits = apf == GuestConfig.ApfMode.CUSTOM ? CUSTOM_EN_BITS : d.enBits();
        if (g.has("en_bits")) {
            // accepted with every mode (ScenarioWriter always writes it); only apf: custom uses it
            enBits = r.integer(g.get("en_bits"), g.path("en_bits"), 0, 0x3f);
        }
        int vector = test ? tk.vector() : r.intField(g, "apf_vector", 0, 255, d.apfVector());
        int timer = r.intField(g, "timer_vector", 32, 255, d.timerVector());
        long tick = r.durField(g, "tick", test ? 0 : d.tickNs());
        checkVectors(g, test, vector, timer, tick);
        // a test guest has no scheduler of its own: no tick and a free switch to its one task, unless asked
        return new GuestConfig(apf, enBits, vector,
                r.choiceField(g, "pf_handler", PF_HANDLER, d.pfHandler()),
                g.has("timeslice") ? r.duration(g.get("timeslice"), g.path("timeslice"), 1) : d.timesliceNs(),
                tick,
                r.durField(g, "pf_handler_cost", d.pfHandlerNs()),
                r.durField(g, "irq_handler_cost", d.irqHandlerNs()),
                r.durField(g, "timer_handler_cost", d.timerHandlerNs()),
                r.durField(g, "context_switch", test ? 0 : d.contextSwitchNs()),
                r.choiceField(g, "scheduler", SCHEDULER, d.scheduler()), tk,
                r.choiceField(g, "version", VERSION, d.version()),
                r.choiceField(g, "page_ready_while_disabled", DISABLED_PAGE_READY, d.disabledPageReady()), timer);
    }

    /**
     * The page-ready vector must be a vector nothing else in the guest uses: a timer tick (LOCAL_TIMER_VECTOR
     * 0xec in Linux) on the page-ready vector would be taken for page-ready. A Linux guest also uses the
     * reschedule IPI (0xfd), and apfsim's perturbations an IPI (0xf1) and a device vector (0x41).
     */
    private void checkVectors(MapView g, boolean test, int vector, int timer, long tick) {
        Node at = test ? (g.has("test") ? r.section(g, "test", Schema.TEST_GUEST).get("vector") : null)
                : g.get("apf_vector");
        String field = test ? g.path("test") + ".vector" : g.path("apf_vector");
        if (at == null && g.has("timer_vector")) {
            at = g.get("timer_vector"); // the timer was moved onto the page-ready vector
            field = g.path("timer_vector");
        }
        String what = null;
        if (vector == timer && (!test || tick > 0)) {
            what = "the guest timer's vector (guest.timer_vector, Linux LOCAL_TIMER_VECTOR 0xec): its ticks would be "
                    + "taken for page-ready; use another vector (Linux: HYPERVISOR_CALLBACK_VECTOR 0xf3) or move the "
                    + "timer with guest.timer_vector" + (test ? " or tick: 0" : "");
        } else if (!test && vector == dev.apfsim.arch.x86.ApfMsr.RESCHEDULE_VECTOR) {
            what = "the guest's RESCHEDULE_VECTOR (0xfd)";
        } else if (vector == dev.apfsim.perturb.Perturbation.VECTOR) {
            what = "the vector of apfsim's perturbation IPI (0xf1)";
        } else if (vector == dev.apfsim.perturb.Perturbation.DEVICE_VECTOR) {
            what = "the device vector of irq-storm perturbations (0x41)";
        }
        if (what != null) {
            throw r.error(at != null ? at : g.node(), field, String.format("page-ready vector %#x is %s", vector,
                    what));
        }
    }

    private TestKernel testKernel(MapView t) {
        long area = 0x5000;
        if (t.has("apf_area")) {
            Node n = t.get("apf_area");
            area = r.address(n, t.path("apf_area"));
            if (area % 64 != 0 || area + 64L * vcpus > memory) {
                throw r.error(n, t.path("apf_area"), "expected a 64-byte aligned guest-physical address with room "
                        + "for one 64-byte area per vCPU (" + vcpus + ") inside vm.memory, got 0x"
                        + Long.toHexString(area));
            }
        }
        int vector = r.intField(t, "vector", 32, 255, TEST_VECTOR);
        TestKernel.NotPresent np = r.choiceField(t, "on_not_present", NOT_PRESENT, TestKernel.NotPresent.SPIN);
        List<TestKernel.ReadyStep> steps = LINUX_READY;
        if (t.has("page_ready")) {
            steps = new ArrayList<>();
            List<Node> items = r.list(t.get("page_ready"), t.path("page_ready"), "page-ready steps");
            for (int i = 0; i < items.size(); i++) {
                String p = t.path("page_ready") + "[" + i + "]";
                TestKernel.ReadyStep s = r.choice(items.get(i), p, READY);
                if (steps.contains(s)) {
                    throw r.error(items.get(i), p, "step " + s.name().toLowerCase(java.util.Locale.ROOT)
                            + " is already in the list (each step runs once per interrupt)");
                }
                steps.add(s);
            }
        }
        TestKernel.Apic apic = r.choiceField(t, "apic", APIC, TestKernel.Apic.X2APIC);
        return new TestKernel(area, vector, np, steps, apic);
    }
}
