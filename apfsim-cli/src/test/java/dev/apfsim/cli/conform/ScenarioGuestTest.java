package dev.apfsim.cli.conform;

import dev.apfsim.realkvm.Experiments;
import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.guest.TestGuest.Cpl;
import dev.apfsim.realkvm.guest.TestGuest.NotPresentReaction;
import dev.apfsim.realkvm.uffd.Backing;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.ScenarioLoader;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** A scenario's guest on the real side: what the real VMM runs for it. */
class ScenarioGuestTest {
    /** The appc-* built-ins and the experiments of apfsim-realkvm they were written after. */
    static final Map<String, String> PAIRS = Map.ofEntries(
            Map.entry("appc-first-enable", "appc-user-fault"), Map.entry("appc-wakeup-all", "appc-wakeup-all"),
            Map.entry("appc-kernel-send-always", "appc-kernel-send-always"),
            Map.entry("appc-kernel-mode", "appc-kernel-user-only"), Map.entry("appc-irq-off", "appc-irq-off"),
            Map.entry("appc-no-int-bit", "appc-no-delivery-as-int"),
            Map.entry("appc-return-without-wait", "appc-return-without-wait"),
            Map.entry("appc-unmapped-in-flight", "appc-unmap-in-flight"),
            Map.entry("appc-sigbus-irq-on", "appc-sigbus-irq-on"), Map.entry("appc-sigbus-irq-off", "appc-sigbus-irq-off"),
            Map.entry("appc-spurious-wake", "appc-wake-without-page"));

    @Test
    void aTestGuestScenarioMapsOntoTheExperimentsGuestFieldForField() {
        PAIRS.forEach((scenario, experiment) -> {
            TestGuest mine = ScenarioGuest.of(BuiltinScenarios.load(scenario));
            TestGuest theirs = Experiments.all().get(experiment).guest();
            String where = scenario + " vs " + experiment;
            assertEquals(theirs.apic(), mine.apic(), where);
            assertEquals(theirs.apfArea(), mine.apfArea(), where);
            assertEquals(theirs.intVector(), mine.intVector(), where);
            assertEquals(theirs.onNotPresent(), mine.onNotPresent(), where);
            assertEquals(theirs.pageReady(), mine.pageReady(), where);
            assertEquals(theirs.programs(), mine.programs(), where);
            assertEquals(theirs.regions().size(), mine.regions().size(), where);
            assertEquals(theirs.regions().getFirst().gpa(), mine.regions().getFirst().gpa(), where);
            assertEquals(theirs.regions().getFirst().pages(), mine.regions().getFirst().pages(), where);
            assertEquals(theirs.regions().getFirst().backing(), mine.regions().getFirst().backing(), where);
        });
    }

    /** __kvm_handle_async_pf panics on an async #PF in kernel mode; a Linux guest maps onto the PANIC reaction. */
    @Test
    void aLinuxGuestThatTakesAKernelModeAsyncPfPanicsAsLinuxDoes() {
        TestGuest g = ScenarioGuest.of(BuiltinScenarios.load("conform-kernel-send-always"));
        assertEquals(NotPresentReaction.PANIC, g.onNotPresent());
        assertEquals(List.of(new TestGuest.EnableApf(0xb), new TestGuest.Sti(),
                new TestGuest.Touch(0x300000, false, Cpl.CPL0), new TestGuest.End()), g.programs().getFirst());
        TestGuest user = ScenarioGuest.of(BuiltinScenarios.load("conform-two-vcpus"));
        assertEquals(NotPresentReaction.SPIN, user.onNotPresent());
        // kvm_guest_cpu_init: ENABLED | DELIVERY_AS_INT | DELIVERY_AS_PF_VMEXIT (CPUID offers it), area 0x9000 + 64n
        assertEquals(new TestGuest.EnableApf(0xd), user.programs().get(1).getFirst());
        assertEquals(0x9000, user.apfArea());
        assertEquals(new TestGuest.Touch(0x308000, false, Cpl.CPL3), user.programs().get(1).get(2));
    }

    @Test
    void eachBackingFailureIsItsUserfaultfdBacking() {
        assertEquals(new Backing.Never(), backing("conform-never-answered"));
        assertEquals(new Backing.Unregister(10_000_000), backing("conform-zero-fill"));
        assertEquals(new Backing.Sigbus(), backing("appc-sigbus-irq-off"));
        assertEquals(new Backing.Copy(5_000_000), backing("conform-apf-off"));
    }

    @Test
    void whatUserfaultfdCannotPlayIsRefusedNamingTheField() {
        ScenarioGuest.Unsupported e = assertThrows(ScenarioGuest.Unsupported.class, () -> ScenarioGuest.of(
                ScenarioLoader.load("poison.yaml", """
                        name: poison
                        vm: {vcpus: 1, memory: 64MiB}
                        memory:
                          regions: [{start: 0x300000, size: 4KiB, state: remote}]
                          failures: [{kind: hwpoison, start: 0x300000}]
                        workload:
                          tasks: [{type: script, name: t, steps: [{touch: 0x300000}]}]
                        """)));
        assertTrue(e.getMessage().startsWith("memory.failures: hwpoison cannot be served by userfaultfd"),
                e.getMessage());
    }

    private static Backing backing(String name) {
        return ScenarioGuest.of(BuiltinScenarios.load(name)).regions().getFirst().backing();
    }
}
