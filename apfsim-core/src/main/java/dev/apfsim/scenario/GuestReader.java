package dev.apfsim.scenario;

import dev.apfsim.guest.GuestConfig;

import java.util.Map;

import static dev.apfsim.scenario.NodeReader.ordered;

/** The {@code guest} section: how the guest kernel enables and handles async PF, and its costs. */
final class GuestReader {
    private static final Map<String, GuestConfig.ApfMode> APF = ordered(
            "linux", GuestConfig.ApfMode.LINUX, "linux-legacy", GuestConfig.ApfMode.LINUX_LEGACY,
            "never", GuestConfig.ApfMode.NEVER,
            "custom", GuestConfig.ApfMode.CUSTOM);
    private static final Map<String, GuestConfig.PfHandler> PF_HANDLER = ordered(
            "wait", GuestConfig.PfHandler.WAIT, "return", GuestConfig.PfHandler.RETURN_WITHOUT_WAIT);
    static final Map<String, GuestConfig.SchedulerPolicy> SCHEDULER = ordered(
            "round-robin", GuestConfig.SchedulerPolicy.ROUND_ROBIN, "cfs", GuestConfig.SchedulerPolicy.CFS);

    static final Map<String, GuestConfig.KernelVersion> VERSION = ordered(
            "6.12", GuestConfig.KernelVersion.V6_12, "mainline", GuestConfig.KernelVersion.MAINLINE);

    /** en_bits default for apf: custom: ENABLED | DELIVERY_AS_INT. */
    static final long CUSTOM_EN_BITS = 0x9;

    private final NodeReader r;

    GuestReader(NodeReader r) {
        this.r = r;
    }

    GuestConfig guest(MapView g) {
        GuestConfig d = GuestConfig.defaults();
        GuestConfig.ApfMode apf = r.choiceField(g, "apf", APF, d.apf());
        long enBits = apf == GuestConfig.ApfMode.CUSTOM ? CUSTOM_EN_BITS : d.enBits();
        if (g.has("en_bits")) {
            // accepted with every mode (ScenarioWriter always writes it); only apf: custom uses it
            enBits = r.integer(g.get("en_bits"), g.path("en_bits"), 0, 0x3f);
        }
        return new GuestConfig(apf, enBits,
                r.intField(g, "apf_vector", 0, 255, d.apfVector()),
                r.choiceField(g, "pf_handler", PF_HANDLER, d.pfHandler()),
                g.has("timeslice") ? r.duration(g.get("timeslice"), g.path("timeslice"), 1) : d.timesliceNs(),
                r.durField(g, "tick", d.tickNs()),
                r.durField(g, "pf_handler_cost", d.pfHandlerNs()),
                r.durField(g, "irq_handler_cost", d.irqHandlerNs()),
                r.durField(g, "timer_handler_cost", d.timerHandlerNs()),
                r.durField(g, "context_switch", d.contextSwitchNs()),
                r.choiceField(g, "scheduler", SCHEDULER, d.scheduler()),
                r.choiceField(g, "version", VERSION, d.version()));
    }
}
