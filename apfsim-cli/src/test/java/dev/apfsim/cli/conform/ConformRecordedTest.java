package dev.apfsim.cli.conform;

import dev.apfsim.realkvm.diff.DiffReport;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The model side of every conformance scenario against the real side recorded on this project's host
 * (kvm_pvm, Linux 6.18; {@code apfsim conform --suite --keep}, src/test/resources/conform/): runs everywhere,
 * and fails when the model moves away from what the kernel did.
 */
class ConformRecordedTest {
    static List<String> suite() {
        return Conformance.suite();
    }

    static ApfTrace recorded(String name) {
        try (InputStream in = ConformRecordedTest.class.getResourceAsStream("/conform/" + name + ".real.trace")) {
            assertNotNull(in, "no recorded real trace for " + name + " (apfsim conform " + name + " --keep DIR)");
            return ApfTrace.fromKept("real", new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static DiffReport diff(String name, Scenario s) {
        return Conformance.compare(name, recorded(name), Conformance.model(s, null), ScenarioGuest.of(s));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("suite")
    void theModelDoesWhatTheRecordedKernelDid(String name) {
        DiffReport d = diff(name, BuiltinScenarios.load(name));
        assertTrue(d.match(), d::render);
    }

    @Test
    void theSuiteHasEveryDeliveryConditionBackingFailureAndTwoVcpus() {
        assertTrue(suite().containsAll(List.of("appc-first-enable", "appc-kernel-mode", "conform-kernel-send-always",
                "appc-irq-off", "appc-no-int-bit", "conform-apf-off", "appc-return-without-wait",
                "appc-unmapped-in-flight", "appc-sigbus-irq-on", "appc-sigbus-irq-off", "appc-spurious-wake",
                "conform-never-answered", "conform-zero-fill", "conform-two-vcpus")), suite().toString());
    }

    /** async_pf_execute drops the GUP error: both sides loop with the same 7-event period, cycles/s on each. */
    @Test
    void sigbusLoopIsTheSameLoopOnBothSidesWithItsRate() {
        DiffReport d = diff("appc-sigbus-irq-on", BuiltinScenarios.load("appc-sigbus-irq-on"));
        assertTrue(d.match(), d::render);
        assertEquals(RunEnd.Kind.STILL_RUNNING, d.a().end().kind());
        assertEquals(RunEnd.Kind.STILL_RUNNING, d.b().end().kind());
        assertEquals(7, d.a().loops().get(0).period());
        assertEquals(7, d.b().loops().get(0).period());
        assertTrue(d.a().cyclesPerSecond() > 0 && d.b().cyclesPerSecond() > 0, d::render);
        assertTrue(d.render().contains("loop cycles/s"), d::render);
    }

    /**
     * kvm_vcpu_has_events: a pending timer interrupt makes a vCPU in the synthetic halt runnable, and its retry
     * is a kvm_async_pf_repeated_fault. The test guest has no timer, so the model side runs without a tick;
     * with a 4 ms tick (on a vector of its own: 0xec is its page-ready vector) the diff finds the retry the real kernel never made.
     */
    @Test
    void aTimerTickWakesTheSyntheticHaltIntoARepeatedFault() {
        Scenario s = BuiltinScenarios.load("appc-kernel-mode", List.of("guest.tick=4ms", "guest.timer_vector=0xef"));
        DiffReport d = Conformance.compare(s.name(), recorded(s.name()), ModelSide.run(s), ScenarioGuest.of(s));
        assertFalse(d.match());
        assertEquals(DiffReport.Kind.EVENT, d.difference().kind());
        assertTrue(d.difference().contextB().stream().anyMatch(l -> !l.here()
                && l.event().startsWith("kvm_async_pf_repeated_fault")), d::render);
        assertTrue(d.difference().contextA().stream().anyMatch(l -> l.here()
                && l.event().startsWith("kvm_async_pf_completed")), d::render);
    }

    /** A different guest is a different run: the EN write of appc-no-int-bit (0x5001) is not appc-first-enable's. */
    @Test
    void theFirstDifferenceIsShownWithContextOnEachSide() {
        Scenario s = BuiltinScenarios.load("appc-no-int-bit");
        DiffReport d = Conformance.compare(s.name(), recorded("appc-first-enable"), Conformance.model(s, null),
                ScenarioGuest.of(s));
        assertFalse(d.match());
        assertEquals(0, d.difference().vcpu());
        String text = d.render();
        assertTrue(text.contains("DIFFERENT"), text);
        assertTrue(text.contains(">    1 kvm_msr write MSR_KVM_ASYNC_PF_EN = 0x5009")
                && text.contains(">    1 kvm_msr write MSR_KVM_ASYNC_PF_EN = 0x5001"), text);
        assertTrue(d.summaryLine().startsWith("appc-no-int-bit"), d.summaryLine());
    }
}
