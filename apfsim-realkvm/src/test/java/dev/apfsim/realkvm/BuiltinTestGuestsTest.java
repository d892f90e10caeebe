package dev.apfsim.realkvm;

import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.guest.TestGuest.*;
import dev.apfsim.realkvm.uffd.Backing;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's {@code appc-*} built-in scenarios (apfsim-core resources) are test guests that must describe the
 * same guest as the experiment of {@link Experiments#all()} they stand for: APF area, vector, #PF reaction,
 * page-ready steps, start state and program. The modules share no code, so this compares the scenario text with
 * what each experiment's {@link TestGuest} says, in the scenario format's words.
 */
class BuiltinTestGuestsTest {
    /** Built-in scenario → the experiment it reproduces. */
    static final Map<String, String> PAIRS = Map.ofEntries(
            Map.entry("appc-first-enable", "appc-user-fault"),
            Map.entry("appc-wakeup-all", "appc-wakeup-all"),
            Map.entry("appc-kernel-send-always", "appc-kernel-send-always"),
            Map.entry("appc-kernel-mode", "appc-kernel-user-only"),
            Map.entry("appc-irq-off", "appc-irq-off"),
            Map.entry("appc-no-int-bit", "appc-no-delivery-as-int"),
            Map.entry("appc-return-without-wait", "appc-return-without-wait"),
            Map.entry("appc-unmapped-in-flight", "appc-unmap-in-flight"),
            Map.entry("appc-sigbus-irq-on", "appc-sigbus-irq-on"),
            Map.entry("appc-sigbus-irq-off", "appc-sigbus-irq-off"),
            Map.entry("appc-spurious-wake", "appc-wake-without-page"));

    private static final Path SCENARIOS = Path.of("../apfsim-core/src/main/resources/scenarios");

    /** The {@code guest.test} mapping the scenario format writes for this guest. */
    static String testLine(TestGuest g) {
        List<String> steps = g.pageReady().stream().map(s -> s.name().toLowerCase(Locale.ROOT)).toList();
        return String.format("test: {apf_area: %#x, vector: %#x, on_not_present: %s, page_ready: [%s]}", g.apfArea(),
                g.intVector(), g.onNotPresent().name().toLowerCase(Locale.ROOT), String.join(", ", steps));
    }

    /** The program as script steps: CPL changes become {@code cpl:} steps, the final End is implicit. */
    static String stepsLine(List<Step> program) {
        List<String> out = new ArrayList<>();
        Cpl cpl = Cpl.CPL0;
        for (Step s : program) {
            if (!(s instanceof End) && s.cpl() != cpl) {
                cpl = s.cpl();
                out.add(cpl == Cpl.CPL0 ? "cpl: 0" : "cpl: 3");
            }
            switch (s) {
                case EnableApf e -> out.add(String.format("enable_apf: %#x", e.flags()));
                case Sti x -> out.add("sti");
                case Cli x -> out.add("cli");
                case Pause p -> out.add("pause: " + p.iterations());
                case Touch t -> out.add(String.format(t.write() ? "write: %#x" : "touch: %#x", t.gva()));
                case End x -> {
                }
                default -> throw new AssertionError("no scenario step for " + s);
            }
        }
        return "steps: [" + String.join(", ", out) + "]";
    }

    @Test
    void everyAppcBuiltinDescribesTheGuestOfItsExperiment() throws IOException {
        Map<String, Experiments.Experiment> all = Experiments.all();
        for (Map.Entry<String, String> p : PAIRS.entrySet()) {
            String yaml = Files.readString(SCENARIOS.resolve(p.getKey() + ".yaml"));
            TestGuest g = all.get(p.getValue()).guest();
            String where = p.getKey() + " vs " + p.getValue();
            assertEquals(1, g.vcpus(), where);
            assertTrue(yaml.contains("kind: test"), where);
            assertTrue(yaml.contains(testLine(g)), where + ": expected " + testLine(g) + " in\n" + yaml);
            assertTrue(yaml.contains("start: {cpl: 0, if: 0}"), where);
            assertTrue(yaml.contains(stepsLine(g.programs().getFirst())),
                    where + ": expected " + stepsLine(g.programs().getFirst()) + " in\n" + yaml);
            RemoteRegion r = g.regions().getFirst();
            assertTrue(yaml.contains(String.format("regions: [{start: %#x, size: %dKiB, state: remote}]", r.gpa(),
                    r.pages() * 4)), where);
            String backing = switch (r.backing()) {
                case Backing.Copy c -> "remote: {latency: " + c.latencyNs() / 1_000_000 + "ms}";
                case Backing.Sigbus s -> "kind: sigbus";
                case Backing.Unmap u -> "kind: unmapped, start: 0x200000, size: 64KiB, from: "
                        + u.latencyNs() / 1_000_000 + "ms";
                case Backing.WakeWithoutPage w -> "kind: spurious-wake, start: 0x200000, size: 64KiB, from: "
                        + w.latencyNs() / 1_000_000 + "ms";
                default -> throw new AssertionError(where + ": no scenario form for " + r.backing());
            };
            assertTrue(yaml.contains(backing), where + ": expected " + backing + " in\n" + yaml);
        }
    }
}
