package dev.apfsim.kvm;

import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.AbstractState;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceSink;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The VMM saves a vCPU only when its thread is out of KVM_RUN (QEMU kicks it with SIG_IPI first): a guest that is
 * running when the migration is asked for exits before the vCPU is saved and runs nothing more on the source
 * state, and the wait shows in the abstract state (the same protocol state with a migration to come is another
 * future).
 */
class VmmMigrationTimingTest {
    private static final long ASK_NS = 300_000;

    private static String scenario(String arch) {
        return """
                name: t
                duration: 5ms
                vm: {vcpus: 1, memory: 64MiB}
                host: {arch: %s}
                workload:
                  tasks:
                    - {type: script, name: busy, steps: [{compute: 1ms}]}
                """.formatted(arch);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"x86", "arm64", "s390"})
    void aRunningGuestExitsBeforeTheVcpuIsSaved(String arch) {
        Machine m = new Machine(ScenarioLoader.load("t.yaml", scenario(arch)));
        List<TraceEvent> events = new ArrayList<>();
        m.attach(TraceSink.everything(events::add));
        KvmVcpu v = m.vcpus().getFirst();
        KvmVcpu.RunState[] atAsk = new KvmVcpu.RunState[1];
        long[] hashes = new long[2];
        m.simulator().at(ASK_NS, (code, arg) -> {
            atAsk[0] = v.runState();
            hashes[0] = AbstractState.hash(m);
            v.migrate();
            assertTrue(v.migrationPending(), "not saved under the running guest");
            hashes[1] = AbstractState.hash(m);
            assertTrue(events.stream().noneMatch(TraceEvent.Migrated.class::isInstance));
        }, 0, 0);
        m.start();
        m.simulator().run(5_000_000);
        assertEquals(KvmVcpu.RunState.IN_GUEST, atAsk[0]);
        assertNotEquals(hashes[0], hashes[1], "a pending migration is part of the abstract state");
        TraceEvent.Migrated mig = events.stream().filter(TraceEvent.Migrated.class::isInstance)
                .map(TraceEvent.Migrated.class::cast).findFirst().orElse(null);
        assertNotNull(mig);
        assertFalse(v.migrationPending());
        // the last state change before the save is the guest leaving guest mode, after the ask
        TraceEvent.VcpuState before = null;
        for (TraceEvent e : events) {
            if (e == mig) {
                break;
            }
            if (e instanceof TraceEvent.VcpuState s) {
                before = s;
            }
        }
        assertNotNull(before);
        assertNotEquals("guest", before.state(), "saved while the guest ran: " + events);
        assertTrue(before.time() >= ASK_NS && mig.time() >= before.time());
    }
}
