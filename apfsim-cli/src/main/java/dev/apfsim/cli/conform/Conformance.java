package dev.apfsim.cli.conform;

import dev.apfsim.guest.GuestConfig;
import dev.apfsim.realkvm.RealKvm;
import dev.apfsim.realkvm.diff.ConformDiff;
import dev.apfsim.realkvm.diff.DiffReport;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.vmm.Recording;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One conformance run: the scenario in the model, its test guest on the real KVM, and the diff of the two APF
 * event sequences (real on the left, model on the right).
 */
public final class Conformance {
    private Conformance() {
    }

    /** The default wall-time limit of a real run: enough for the slow remote pages of the appc-* scenarios. */
    public static final long DEFAULT_LIMIT_NS = 2_000_000_000L;

    /** Both sides of one scenario, and their diff. */
    public record Result(String name, TestGuest guest, Recording real, ModelSide model, DiffReport report) {
        /** Writes {@code DIR/NAME.real.trace} and {@code DIR/NAME.model.trace}. */
        public List<Path> keep(Path dir) throws IOException {
            Files.createDirectories(dir);
            Path r = dir.resolve(name + ".real.trace"), m = dir.resolve(name + ".model.trace");
            real.writeTrace(r);
            model.writeTrace(m);
            return List.of(r, m);
        }
    }

    /**
     * The suite: every built-in that pins down a real-kernel behaviour, the {@code appc-*} experiments and the
     * {@code conform-*} scenarios, in the order {@code apfsim scenarios} lists them.
     */
    public static List<String> suite() {
        return BuiltinScenarios.names().stream().filter(n -> n.startsWith("appc-") || n.startsWith("conform-"))
                .toList();
    }

    /**
     * The model side of {@code s}: the test guest has no timer, so neither does the model's guest ({@code tick: 0},
     * as with {@code nohz_full}). A tick would wake a vCPU in the synthetic halt ({@code kvm_vcpu_has_events}: a
     * pending timer interrupt makes it runnable) and retry the fault, a {@code kvm_async_pf_repeated_fault} the
     * real guest never makes.
     */
    static Scenario withoutTimer(Scenario s) {
        GuestConfig g = s.guest();
        if (g.tickNs() == 0) {
            return s; // a test guest has no tick unless it asks for one
        }
        return s.withGuest(g.withTick(0)); // keeps every other field (the test guest's handlers, the timer vector)
    }

    /**
     * Runs {@code s} on both sides. {@code limitNs} (null: the scenario's duration, at most
     * {@link #DEFAULT_LIMIT_NS}) is the real run's wall-time limit; with a limit given, the model's simulated
     * run is cut at the same length.
     */
    public static Result run(Scenario s, Backend backend, Long limitNs) throws IOException {
        TestGuest guest = ScenarioGuest.of(s);
        long realLimit = limitNs != null ? limitNs : Math.min(s.durationNs(), DEFAULT_LIMIT_NS);
        ModelSide model = model(s, limitNs);
        Recording rec = RealKvm.record(guest, backend, Math.max(1, realLimit / 1_000_000));
        return new Result(s.name(), guest, rec, model, compare(s.name(), RealKvm.trace(rec), model, guest));
    }

    /** The model's run of {@code s} as conform makes it (no timer tick; cut at {@code limitNs} when given). */
    public static ModelSide model(Scenario s, Long limitNs) {
        return ModelSide.run(withoutTimer(limitNs != null ? s.withDuration(limitNs) : s));
    }

    /** Real on the left, model on the right, the page-ready vector being the test guest's. */
    public static DiffReport compare(String name, ApfTrace real, ModelSide model, TestGuest guest) {
        return ConformDiff.compare(name, real, model.trace(guest.intVector()));
    }
}
