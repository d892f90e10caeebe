package dev.apfsim.sim;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code kvm_can_deliver_async_pf}: outside guest mode an async #PF is delivered only with paging on ("The real mode
 * IDT in particular is unlikely to have a #PF exception setup"); a fault with CR0.PG=0 still goes async, but gets
 * the synthetic halt ({@code KVM_REQ_APF_HALT}). Built-in {@code paging-off}: three faults, the second with PG=0.
 */
class PagingOffTest {
    private static SimRun run(String variant) {
        return SimRun.of(BuiltinScenarios.load("paging-off", BuiltinScenarios.variants("paging-off").get(variant)));
    }

    @Test
    void aFaultWithPagingOffIsHaltedNotInjected() {
        SimRun r = run("fixed");
        assertEquals(List.of(), r.machine.monitor().violations(), r.dump());
        assertEquals(3, r.all(TraceEvent.NotPresent.class).size(), r.dump());
        assertEquals(2, r.all(TraceEvent.InjException.class).size(), "the faults with paging on\n" + r.dump());
    }

    @Test
    void injectingItIsUndeliverableInjected() {
        SimRun r = run("old");
        assertEquals(List.of("undeliverable-injected"), r.machine.monitor().violations().stream()
                .map(v -> v.invariant().key()).toList(), r.dump());
        assertEquals(3, r.all(TraceEvent.InjException.class).size(), r.dump());
    }
}
