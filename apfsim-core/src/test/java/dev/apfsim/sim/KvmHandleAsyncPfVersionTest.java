package dev.apfsim.sim;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code __kvm_handle_async_pf} (arch/x86/kernel/kvm.c) orders its checks differently in 6.12.117 and mainline, and
 * it matters when a perf NMI lands between an async #PF's delivery and its handler's flag read, and the NMI's user
 * stack walk ({@code copy_from_user_nmi}) takes a kernel-mode #PF. 6.12.117 peeks at the flags, sees kernel mode in
 * NMI context and treats the NMI's fault as a regular one, leaving the flags for the #PF it interrupted; mainline
 * consumes them in the NMI, whose IF=0 makes it panic.
 */
class KvmHandleAsyncPfVersionTest {
    private static final String READER = TestScenarios.remotePageYaml(
            "{type: script, name: reader, steps: [touch: 0x300000, compute: 10us]}");

    /** The async #PF's injection; its handler runs 500 ns later (entry) for 1.5 us before it reads the flags. */
    private static long pfInjected() {
        SimRun r = SimRun.of(ScenarioLoader.load("reader.yaml", READER));
        return r.all(TraceEvent.InjException.class).stream().filter(e -> e.vector() == ApfMsr.PF_VECTOR)
                .findFirst().orElseThrow().time();
    }

    private static SimRun withNmiInPfEntry(String version) {
        long at = pfInjected() + 1_000; // inside the #PF handler's entry, before kvm_read_and_reset_apf_flags
        return SimRun.of(ScenarioLoader.load("reader.yaml", READER, List.of("guest.version=" + version,
                "check.perturbations=[{at: " + at + ", kind: nmi}]")));
    }

    @Test
    void kvmHandleAsyncPf612LeavesTheFlagsToTheFaultAnNmiInterrupted() {
        SimRun r = withNmiInPfEntry("6.12");
        assertNull(r.first(TraceEvent.GuestPanic.class), r.dump());
        // the NMI's kernel-mode fault was a regular one ...
        assertEquals(List.of(0x7ffffff000L), r.all(TraceEvent.GuestPageFault.class).stream()
                .map(TraceEvent.GuestPageFault::address).toList(), r.dump());
        // ... and the interrupted #PF still found its flags: the task slept on the token and finished
        long token = r.notPresentTokens().getFirst();
        assertTrue(r.all(TraceEvent.GuestApfWait.class).stream().anyMatch(w -> w.token() == token), r.dump());
        assertEquals(1, r.task(0).ops(), r.dump());
        assertEquals(List.of(), r.all(TraceEvent.Violation.class), r.dump());
    }

    @Test
    void kvmHandleAsyncPfMainlineConsumesTheFlagsInTheNmiAndPanics() {
        SimRun r = withNmiInPfEntry("mainline");
        TraceEvent.GuestPanic p = r.first(TraceEvent.GuestPanic.class);
        assertEquals("Host injected async #PF in interrupt disabled region", p == null ? null : p.message(), r.dump());
        // the NMI's regular #PF read the interrupted async #PF's flags
        assertTrue(r.all(TraceEvent.Violation.class).stream().anyMatch(v -> v.invariant().equals("reason-confusion")),
                r.dump());
    }

    @Test
    void withoutTheNmiBothVersionsTakeTheAsyncPf() {
        for (String v : List.of("6.12", "mainline")) {
            SimRun r = SimRun.of(ScenarioLoader.load("reader.yaml", READER, List.of("guest.version=" + v)));
            assertNull(r.first(TraceEvent.GuestPanic.class), r.dump());
            assertEquals(1, r.task(0).ops(), v);
        }
    }
}
