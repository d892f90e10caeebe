package dev.apfsim.cli.conform;

import dev.apfsim.realkvm.RealKvm;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.Probe;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The conformance suite on this host's real KVM against the model, every scenario at most 1 s of wall time.
 * Skipped, with the probe's one-line reason, where there is no usable KVM (no /dev/kvm, not root, a missing
 * capability, no tracefs).
 */
class ConformRealKvmTest {
    private static Backend backend;

    @BeforeAll
    static void probe() {
        Probe p = RealKvm.probe();
        assumeTrue(p instanceof Probe.Usable, "no usable KVM here: " + p);
        backend = ((Probe.Usable) p).backend();
    }

    static List<String> suite() {
        return Conformance.suite();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("suite")
    void theRealKernelAndTheModelAgree(String name) throws Exception {
        Scenario s = BuiltinScenarios.load(name);
        Conformance.Result r = Conformance.run(s, backend, Math.min(s.durationNs(), 1_000_000_000L));
        assertTrue(r.report().match(), () -> r.report().render());
    }
}
