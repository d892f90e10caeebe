package dev.apfsim.kvm;

import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceSink;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kvm_arch_async_page_ready} → {@code kvm_mmu_do_page_fault(..., prefetch=true)}: a prefetch fault never goes
 * async ({@code __kvm_faultin_pfn}: {@code !fault->prefetch}), so when the page is not in when the completed item is
 * consumed, the blocking GUP runs on the vCPU thread before {@code kvm_arch_async_page_present}; an error pfn is
 * {@code kvm_handle_error_pfn}'s -EFAULT, which {@code kvm_arch_async_page_ready} drops (RFCv2's arm64
 * {@code try_async_pf} with {@code prefault} does the same).
 */
class KvmArchAsyncPageReadyPrefaultTest {
    private static final long GFN = 0x1000;
    private static final long SWAP_NS = 200_000;

    private final List<TraceEvent> events = new ArrayList<>();
    /** The vCPU's run state when it started the prefault's GUP. */
    private KvmVcpu.RunState stateInGup;

    private static String scenario(String arch, String failures) {
        return """
                name: t
                duration: 20ms
                vm: {vcpus: 1, memory: 64MiB}
                host: {arch: %s, swap: {latency: {type: constant, value: 200us}}}
                memory:
                  regions: [{start: 0x1000000, size: 64KiB, state: swapped}]
                  failures: [%s]
                workload:
                  tasks:
                    - {type: script, name: victim, steps: [{compute: 100us}, {touch: 0x1000000}, {compute: 100us}]}
                    - {type: statistical, name: bystander, compute: {type: constant, value: 50us}, touches_per_op: 0}
                """.formatted(arch, failures);
    }

    /**
     * Runs the scenario; when the worker completes the item for {@link #GFN}, host reclaim takes the page again
     * (before the vCPU thread consumes the item) if {@code evictAgain}.
     */
    private Machine run(String yaml, boolean evictAgain, long untilNs) {
        return run(yaml, evictAgain, untilNs, -1);
    }

    /** As above; the VMM migrates the vCPU {@code migrateAfterNs} after the prefault's GUP starts, if not -1. */
    private Machine run(String yaml, boolean evictAgain, long untilNs, long migrateAfterNs) {
        Machine m = new Machine(ScenarioLoader.load("t.yaml", yaml));
        boolean[] migrated = {false};
        m.attach(TraceSink.everything(e -> {
            events.add(e);
            if (evictAgain && e instanceof TraceEvent.Completed c && c.gva() >>> 12 == GFN) {
                m.memory().initRange(GFN, 1, HostMemory.SWAPPED);
            }
            if (e instanceof TraceEvent.SyncFault s && s.gfn() == GFN && stateInGup == null) {
                stateInGup = m.vcpus().getFirst().runState();
                if (migrateAfterNs >= 0 && !migrated[0]) {
                    migrated[0] = true;
                    m.simulator().after(migrateAfterNs, (code, arg) -> m.vcpus().getFirst().migrate(), 0, 0);
                }
            }
        }));
        m.start();
        m.simulator().run(untilNs);
        return m;
    }

    private <T extends TraceEvent> T first(Class<T> type, java.util.function.Predicate<T> p) {
        for (TraceEvent e : events) {
            if (type.isInstance(e) && p.test(type.cast(e))) {
                return type.cast(e);
            }
        }
        return null;
    }

    private int indexOf(TraceEvent e) {
        return events.indexOf(e);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"x86", "arm64"})
    void prefetchFaultOfAPageEvictedAgainBlocksTheVcpuThreadInGup(String arch) {
        Machine m = run(scenario(arch, ""), true, 5_000_000);
        TraceEvent.SyncFault gup = first(TraceEvent.SyncFault.class, s -> s.gfn() == GFN);
        assertNotNull(gup, "the prefault's GUP runs on the vCPU thread: " + events);
        assertEquals(Counter.SYNC_PREFETCH.key(), gup.reason());
        assertEquals(KvmVcpu.RunState.SYNC_WAIT, stateInGup, "the vCPU thread sleeps in the GUP");
        TraceEvent.Prefault pf = first(TraceEvent.Prefault.class, p -> p.gfn() == GFN);
        assertTrue(pf.fixed(), "mapped once the page is read back: " + pf);
        assertTrue(pf.time() - gup.time() >= SWAP_NS, "the thread waited for the swap device: "
                + (pf.time() - gup.time()) + " ns");
        TraceEvent.Ready ready = first(TraceEvent.Ready.class, r -> r.gva() >>> 12 == GFN);
        assertTrue(indexOf(gup) < indexOf(pf) && indexOf(pf) < indexOf(ready),
                "GUP, then the prefault, then kvm_arch_async_page_present");
        assertTrue(ready.time() >= pf.time());
        assertEquals(HostMemory.MAPPED, m.memory().state(GFN));
        long tries = events.stream().filter(e -> e instanceof TraceEvent.TryAsyncGetPage t && t.gfn() == GFN)
                .count();
        assertEquals(1, tries, "the guest's retry finds the page the prefault mapped");
        assertEquals(1, m.metrics().counters.get(Counter.PREFAULTS));
        assertEquals(1, m.metrics().counters.get(Counter.SYNC_PREFETCH));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"x86", "arm64"})
    void prefetchFaultOnSigbusBackingFailsAtOnceAndThePageReadyStillGoesOut(String arch) {
        Machine m = run(scenario(arch, "{kind: sigbus, start: 0x1000000}"), false, 20_000_000);
        TraceEvent.SyncFault gup = first(TraceEvent.SyncFault.class, s -> s.gfn() == GFN);
        assertNotNull(gup, "the worker's GUP failed: the prefault tries again, blocking: " + events);
        assertEquals(KvmVcpu.RunState.SYNC_WAIT, stateInGup);
        TraceEvent.Prefault pf = first(TraceEvent.Prefault.class, p -> p.gfn() == GFN);
        assertFalse(pf.fixed());
        assertEquals("efault", pf.why(), "kvm_handle_error_pfn: -EFAULT");
        assertTrue(pf.time() > gup.time() && pf.time() - gup.time() < SWAP_NS,
                "the GUP failed at once, without device I/O: " + (pf.time() - gup.time()) + " ns");
        TraceEvent.Ready ready = first(TraceEvent.Ready.class, r -> r.gva() >>> 12 == GFN);
        assertNotNull(ready, "kvm_arch_async_page_ready ignores the error: the item is presented");
        assertTrue(indexOf(pf) < indexOf(ready));
        assertTrue(events.stream().noneMatch(TraceEvent.UserspaceExit.class::isInstance),
                "no exit to userspace: the -EFAULT is dropped");
        long tries = events.stream().filter(e -> e instanceof TraceEvent.TryAsyncGetPage t && t.gfn() == GFN)
                .count();
        assertTrue(tries >= 2, "the guest's retry faults again (seed 004's loop): " + events);
        assertTrue(m.metrics().counters.get(Counter.SYNC_PREFETCH) >= 2, "each round blocks in a prefault");
    }

    /**
     * {@code kvm_send_hwpoison_signal} from the prefetch fault: the item is still presented, then the pending
     * SIGBUS ends KVM_RUN before the next entry and the VMM stops, as for a poisoned fault.
     */
    @org.junit.jupiter.api.Test
    void prefetchFaultOfAPoisonedPageSignalsTheVmm() {
        run(scenario("x86", ""), true, 5_000_000);
        long completed = first(TraceEvent.Completed.class, c -> c.gva() >>> 12 == GFN).time();
        events.clear();
        stateInGup = null;
        run(scenario("x86", "{kind: hwpoison, start: 0x1000000, from: %dns}".formatted(completed)), true,
                5_000_000);
        TraceEvent.Prefault pf = first(TraceEvent.Prefault.class, p -> p.gfn() == GFN);
        assertFalse(pf.fixed());
        assertEquals("hwpoison", pf.why());
        TraceEvent.Ready ready = first(TraceEvent.Ready.class, r -> r.gva() >>> 12 == GFN);
        TraceEvent.UserspaceExit exit = first(TraceEvent.UserspaceExit.class, u -> true);
        assertNotNull(ready);
        assertNotNull(exit, "the SIGBUS reaches the VMM");
        assertEquals(HostMemory.EHWPOISON, exit.errno());
        assertTrue(indexOf(ready) < indexOf(exit), "presented first, then KVM_RUN returns");
        assertEquals(null, first(TraceEvent.SyncFault.class, s -> s.gfn() == GFN), "poison fails without a GUP");
    }

    /**
     * A migration while the vCPU thread sleeps in the prefault's GUP: the VMM's kick (QEMU's SIG_IPI) makes x86's
     * interruptible GUP give up ({@code KVM_PFN_ERR_SIGPENDING}); {@code kvm_arch_async_page_ready} drops the
     * error, the item is presented, and only then, with KVM_RUN returned, is the vCPU saved. The VMM never
     * changes the vCPU under a thread that is still inside {@code kvm_check_async_pf_completion}.
     */
    @org.junit.jupiter.api.Test
    void aMigrationInterruptsTheX86PrefaultsGupAndWaitsForTheCompletionLoop() {
        Machine m = run(scenario("x86", ""), true, 5_000_000, 10_000);
        TraceEvent.SyncFault gup = first(TraceEvent.SyncFault.class, s -> s.gfn() == GFN);
        TraceEvent.Prefault pf = first(TraceEvent.Prefault.class, p -> p.gfn() == GFN);
        assertFalse(pf.fixed());
        assertEquals("eintr", pf.why(), "gup_signal_pending: -EINTR");
        assertEquals(10_000, pf.time() - gup.time(), "given up when the kick came, not after the swap device");
        TraceEvent.Ready ready = first(TraceEvent.Ready.class, r -> r.gva() >>> 12 == GFN);
        TraceEvent.Migrated mig = first(TraceEvent.Migrated.class, x -> true);
        assertNotNull(ready, "the item is presented all the same");
        assertNotNull(mig);
        assertTrue(indexOf(pf) < indexOf(ready) && indexOf(ready) < indexOf(mig),
                "prefault, page-ready, then the migration: " + events);
        assertEquals(HostMemory.MAPPED, m.memory().state(GFN), "the read went on; the guest's retry mapped it");
    }

    /** arm64's {@code user_mem_abort} GUP is not interruptible: the migration waits until it is back. */
    @org.junit.jupiter.api.Test
    void onArm64TheMigrationWaitsForThePrefaultsGup() {
        run(scenario("arm64", ""), true, 5_000_000, 10_000);
        TraceEvent.SyncFault gup = first(TraceEvent.SyncFault.class, s -> s.gfn() == GFN);
        TraceEvent.Prefault pf = first(TraceEvent.Prefault.class, p -> p.gfn() == GFN);
        assertTrue(pf.fixed(), "the GUP ran to its end: " + pf);
        assertTrue(pf.time() - gup.time() >= SWAP_NS);
        TraceEvent.Ready ready = first(TraceEvent.Ready.class, r -> r.gva() >>> 12 == GFN);
        TraceEvent.Migrated mig = first(TraceEvent.Migrated.class, x -> true);
        assertNotNull(mig);
        assertTrue(indexOf(ready) < indexOf(mig), "presented before the VMM saves the vCPU: " + events);
    }

    /**
     * A migration while the thread blocks in a synchronous fault's GUP ({@code host.async_pf: false}): x86's GUP
     * gives up ({@code kvm_handle_error_pfn} → {@code kvm_handle_signal_exit}), the vCPU is saved with the fault
     * not done, and the guest faults again on the destination, where the page read that went on is found.
     */
    @org.junit.jupiter.api.Test
    void aMigrationInterruptsAnX86SyncFaultAndTheGuestFaultsAgain() {
        String yaml = scenario("x86", "").replace("host: {arch: x86,", "host: {arch: x86, async_pf: false,");
        Machine m = run(yaml, false, 5_000_000, 10_000);
        TraceEvent.SyncFault gup = first(TraceEvent.SyncFault.class, s -> s.gfn() == GFN);
        assertNotNull(gup, events.toString());
        TraceEvent.Migrated mig = first(TraceEvent.Migrated.class, x -> true);
        assertNotNull(mig);
        assertEquals(10_000, mig.time() - gup.time(), "the GUP gave up at the kick");
        long gups = events.stream().filter(e -> e instanceof TraceEvent.SyncFault f && f.gfn() == GFN).count();
        assertEquals(2, gups, "the guest's access faults again after the migration: " + events);
        assertEquals(HostMemory.MAPPED, m.memory().state(GFN));
    }
}
