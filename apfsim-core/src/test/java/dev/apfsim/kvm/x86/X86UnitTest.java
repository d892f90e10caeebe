package dev.apfsim.kvm.x86;

import dev.apfsim.kvm.ApfGfnHash;

import dev.apfsim.host.KvmConfig;

import dev.apfsim.kvm.HostCosts;

import dev.apfsim.arch.x86.ApfMsr;

import dev.apfsim.guest.GuestConfig;
import dev.apfsim.kvm.AsyncPf;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.scenario.DeviceSpec;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unit-level rules (the token format of {@code alloc_apf_token}, the gfn hash, the APF MSRs of
 * {@code kvm_pv_enable_async_pf}, conformance behaviours 2-5, 8, 18) that need the x86 classes directly: the
 * gfn hash (linear probing, backward-shift delete), token allocation with its wrap, the MSR validation order,
 * and the per-vCPU limit counting wake-all and completed items.
 */
class X86UnitTest {
    private static final long EMPTY = ~0L;

    /** The kernel's {@code hash_32(gfn & 0xffffffff, 6)}, computed independently of the model. */
    static int kernelHash(long gfn) {
        long product = ((gfn & 0xffffffffL) * 0x61C88647L) & 0xffffffffL;
        return (int) (product >>> 26);
    }

    /** The first {@code n} gfns from {@code from} whose home slot is {@code slot}. */
    static List<Long> gfnsWithHome(int slot, int n, long from) {
        List<Long> out = new ArrayList<>();
        for (long g = from; out.size() < n; g++) {
            if (kernelHash(g) == slot) {
                out.add(g);
            }
        }
        return out;
    }

    // ---- gfn hash (kvm_add_async_pf_gfn) -----------------------------------------------------------------------------------

    @Test
    void hashIsTopSixBitsOfGoldenRatioProduct() {
        assertEquals(0, ApfGfnHash.hash(0));
        assertEquals(24, ApfGfnHash.hash(1)); // 0x61C88647 >> 26
        for (long g : new long[]{2, 0x300, 0x12345, 0xfffff, 0x7fffffffL, 0xffffffffL, 0x1234_5678_9abcL}) {
            assertEquals(kernelHash(g), ApfGfnHash.hash(g), "gfn " + Long.toHexString(g));
        }
        assertEquals(ApfGfnHash.hash(0x300), ApfGfnHash.hash(0x300 + (1L << 32)), "only the low 32 bits count");
    }

    @Test
    void insertProbesLinearlyAndWraps() {
        ApfGfnHash h = new ApfGfnHash();
        List<Long> at63 = gfnsWithHome(63, 3, 0);
        for (long g : at63) {
            h.add(g);
        }
        assertEquals(at63.get(0), h.slotValue(63));
        assertEquals(at63.get(1), h.slotValue(0), "(key + 1) & 63 wraps to slot 0");
        assertEquals(at63.get(2), h.slotValue(1));
        assertTrue(at63.stream().allMatch(h::contains));
        assertEquals(3, h.size());
    }

    @Test
    void deleteShiftsLaterEntriesBack() {
        ApfGfnHash h = new ApfGfnHash();
        List<Long> home5 = gfnsWithHome(5, 3, 0);
        for (long g : home5) {
            h.add(g); // slots 5, 6, 7
        }
        assertTrue(h.remove(home5.get(0)));
        assertEquals(home5.get(1), h.slotValue(5), "moved back to its home");
        assertEquals(home5.get(2), h.slotValue(6));
        assertEquals(EMPTY, h.slotValue(7));
        assertFalse(h.contains(home5.get(0)));
        assertTrue(h.contains(home5.get(1)) && h.contains(home5.get(2)));
    }

    @Test
    void deleteKeepsEntriesWhoseHomeLiesBetween() {
        ApfGfnHash h = new ApfGfnHash();
        long a = gfnsWithHome(5, 1, 0).getFirst();
        long b = gfnsWithHome(6, 1, 0).getFirst();
        long c = gfnsWithHome(5, 2, 0).get(1);
        h.add(a); // 5
        h.add(b); // 6 (its home)
        h.add(c); // 7 (home 5, probed past a and b)
        assertTrue(h.remove(a));
        // b's home 6 lies in (5, 6]: it stays; c's home 5 does not lie in (5, 7]: it moves into the hole
        assertEquals(c, h.slotValue(5));
        assertEquals(b, h.slotValue(6));
        assertEquals(EMPTY, h.slotValue(7));
        assertTrue(h.contains(b) && h.contains(c));
    }

    @Test
    void deleteAcrossTheWrap() {
        ApfGfnHash h = new ApfGfnHash();
        List<Long> home62 = gfnsWithHome(62, 3, 0); // 62, 63, 0
        long d = gfnsWithHome(0, 1, 0).getFirst();   // home 0, lands at 1
        home62.forEach(h::add);
        h.add(d);
        assertEquals(d, h.slotValue(1));
        assertTrue(h.remove(home62.get(0)));
        assertEquals(home62.get(1), h.slotValue(62));
        assertEquals(home62.get(2), h.slotValue(63));
        assertEquals(d, h.slotValue(0), "home 0 is not in (63, 1] cyclically: d moves back to slot 0");
        assertEquals(EMPTY, h.slotValue(1));
        home62.subList(1, 3).forEach(g -> assertTrue(h.contains(g)));
        assertTrue(h.contains(d));
    }

    @Test
    void deleteOfAbsentGfnIsANoOp() {
        ApfGfnHash h = new ApfGfnHash();
        List<Long> home9 = gfnsWithHome(9, 2, 0);
        home9.forEach(h::add);
        assertFalse(h.remove(gfnsWithHome(9, 3, 0).get(2)), "kvm_del_async_pf_gfn WARNs and returns");
        assertEquals(home9.get(0), h.slotValue(9));
        assertEquals(home9.get(1), h.slotValue(10));
        h.reset();
        assertEquals(0, h.size());
        assertFalse(h.contains(home9.getFirst()));
    }

    @Property(tries = 200)
    void hashBehavesLikeASet(@ForAll @Size(max = 200) List<@IntRange(min = 0, max = 300) Integer> ops,
                             @ForAll @IntRange(min = 0, max = 63) int cluster) {
        // keys drawn from a small pool, half of them colliding on one home slot, so chains and wraps are common
        List<Long> pool = new ArrayList<>(gfnsWithHome(cluster, 40, 0));
        for (long g = 0x1000; pool.size() < 80; g += 7) {
            pool.add(g);
        }
        ApfGfnHash h = new ApfGfnHash();
        Set<Long> ref = new HashSet<>();
        for (int op : ops) {
            long g = pool.get(op % pool.size());
            if (op >= 150 || ref.size() >= ApfGfnHash.SLOTS) {
                assertEquals(ref.remove(g), h.remove(g));
            } else if (!ref.contains(g)) {
                ref.add(g);
                h.add(g);
            }
            for (long p : pool) {
                assertEquals(ref.contains(p), h.contains(p), "gfn " + p);
            }
            assertEquals(ref.size(), h.size());
        }
        // every entry is reachable from its home without crossing an empty slot (the delete invariant)
        for (int i = 0; i < ApfGfnHash.SLOTS; i++) {
            long g = h.slotValue(i);
            if (g != EMPTY) {
                for (int k = ApfGfnHash.hash(g); k != i; k = (k + 1) & 63) {
                    assertTrue(h.slotValue(k) != EMPTY, "hole between home and slot of " + g);
                }
            }
        }
    }

    // ---- tokens (alloc_apf_token, behaviour 8) ------------------------------------------------------------------------------

    static Machine machine(int vcpus) {
        return new Machine(new Scenario("unit", "", 1, 1_000_000_000L, vcpus, 64L << 20, 64L << 20,
                KvmConfig.defaults(), new DeviceSpec(new LatencyDistribution.Constant(100_000), 32),
                new DeviceSpec(new LatencyDistribution.Constant(1_000_000), 64), List.of(), List.of(),
                GuestConfig.defaults(), List.of(), 1000));
    }

    @Test
    void tokensCarryTheVcpuIdAndSkipZeroAtTheWrap() {
        Machine m = machine(3);
        X86AsyncPf v0 = m.x86Vcpus().get(0).x86();
        X86AsyncPf v2 = m.x86Vcpus().get(2).x86();
        assertEquals(0x1000, v0.allocApfToken(), "id starts at 0 and is first reset to 1");
        assertEquals(0x2000, v0.allocApfToken());
        assertEquals(0x1002, v2.allocApfToken());
        m.x86Vcpus().get(2).apf.id = 0xFFFFF;
        assertEquals(0xFFFFF002, v2.allocApfToken());
        assertEquals(0x1002, v2.allocApfToken(), "id << 12 == 0: back to 1, never token 0|id");
        assertEquals(2, m.x86Vcpus().get(2).apf.id);
    }

    // ---- MSRs (kvm_pv_enable_async_pf, behaviours 2-5) ------------------------------------------------------------------------------

    static ApfMsrHandler handler(Machine m) {
        X86Vcpu v = m.x86Vcpus().get(0);
        return new ApfMsrHandler(v, v.asyncPf(), m.ram());
    }

    static Machine machine(KvmConfig k) {
        return new Machine(new Scenario("unit", "", 1, 1_000_000_000L, 1, 64L << 20, 64L << 20, k,
                new DeviceSpec(new LatencyDistribution.Constant(100_000), 32),
                new DeviceSpec(new LatencyDistribution.Constant(1_000_000), 64), List.of(), List.of(),
                GuestConfig.defaults(), List.of(), 1000));
    }

    static KvmConfig kvm(boolean lapic, boolean enforce, boolean apf, boolean vmexit, boolean intr) {
        return new KvmConfig(true, lapic, enforce, apf, vmexit, intr, false, HostCosts.defaults(),
                X86Policy.linux612());
    }

    @Test
    void enableValidationOrder() {
        int en = ApfMsr.MSR_KVM_ASYNC_PF_EN;
        long gpa = 0x9000;
        // reserved bits 5:4
        Machine m = machine(KvmConfig.defaults());
        ApfMsrHandler h = handler(m);
        assertTrue(h.write(en, gpa | 0x19).gp());
        assertTrue(h.write(en, gpa | 0x29).gp());
        assertEquals(0, m.x86Vcpus().get(0).apf.msrEnVal, "rejected before the value is stored");
        // a bad control-area GPA fails after the value was stored (RDMSR returns it)
        long bad = (1L << 40) | 0x9;
        assertTrue(h.write(en, bad).gp());
        assertEquals(bad, h.read(en).value());
        // then a good one, which queues the wake-all
        assertFalse(h.write(en, gpa | 0x9).gp());
        assertEquals(1, m.x86Vcpus().get(0).asyncPf().queued());
        assertEquals(gpa | 0x9, h.read(en).value());

        // enforced CPUID: bit 2 needs KVM_FEATURE_ASYNC_PF_VMEXIT, bit 3 KVM_FEATURE_ASYNC_PF_INT
        ApfMsrHandler noVmexit = handler(machine(kvm(true, true, true, false, true)));
        assertTrue(noVmexit.write(en, gpa | 0xd).gp());
        assertFalse(noVmexit.write(en, gpa | 0x9).gp());
        ApfMsrHandler noInt = handler(machine(kvm(true, true, true, true, false)));
        assertTrue(noInt.write(en, gpa | 0x9).gp());
        assertFalse(noInt.write(en, gpa | 0x1).gp(), "bit 0 alone is allowed (and does nothing)");
        // without enforcement guest_pv_has() is always true
        assertFalse(handler(machine(kvm(true, false, false, false, false))).write(en, gpa | 0xd).gp());
    }

    @Test
    void intAndAckMsrs() {
        int in = ApfMsr.MSR_KVM_ASYNC_PF_INT;
        int ack = ApfMsr.MSR_KVM_ASYNC_PF_ACK;
        Machine m = machine(KvmConfig.defaults());
        ApfMsrHandler h = handler(m);
        assertTrue(h.write(in, 0x100).gp());
        assertTrue(h.write(in, 1L << 63).gp());
        assertFalse(h.write(in, 0).gp(), "no vector validity check, even vector 0");
        assertFalse(h.write(in, 0xf3).gp());
        assertEquals(0xf3, h.read(in).value());
        assertEquals(0xf3, m.x86Vcpus().get(0).apf.vec);
        for (long v : new long[]{0, 1, 2, 0xfffffffeL, -1}) {
            assertFalse(h.write(ack, v).gp(), "ACK never #GPs: " + v);
        }
        assertEquals(0, h.read(ack).value());
        assertFalse(h.read(ack).gp());
        assertTrue(h.write(0x12345678, 0) == null, "not an APF MSR");
    }

    @Test
    void noInKernelLapic() {
        Machine m = machine(kvm(false, false, true, true, true));
        ApfMsrHandler h = handler(m);
        assertFalse(h.write(ApfMsr.MSR_KVM_ASYNC_PF_EN, 0).gp(), "always allow writing 0");
        assertTrue(h.write(ApfMsr.MSR_KVM_ASYNC_PF_EN, 0x9000).gp(), "any non-zero value");
        assertTrue(h.write(ApfMsr.MSR_KVM_ASYNC_PF_EN, 0x9009).gp());
        assertTrue(h.write(ApfMsr.MSR_KVM_ASYNC_PF_INT, 0xf3).gp());
        assertTrue(h.write(ApfMsr.MSR_KVM_ASYNC_PF_INT, 0).gp());
    }

    @Test
    void enforcedPvCpuidWithLeafCleared() {
        ApfMsrHandler h = handler(machine(kvm(true, true, false, false, false)));
        for (int msr : new int[]{ApfMsr.MSR_KVM_ASYNC_PF_EN, ApfMsr.MSR_KVM_ASYNC_PF_INT,
                ApfMsr.MSR_KVM_ASYNC_PF_ACK}) {
            assertTrue(h.read(msr).gp(), "RDMSR " + Integer.toHexString(msr));
            assertTrue(h.write(msr, 0).gp(), "WRMSR(0) " + Integer.toHexString(msr));
        }
    }

    // ---- the per-vCPU limit counts wake-alls and completed items (behaviour 18) -----------------------------------

    @Test
    void limitCountsWakeAllAndCompletedButUnconsumedItems() {
        Machine m = machine(1);
        X86Vcpu v = m.x86Vcpus().get(0);
        AsyncPf apf = v.asyncPf();
        apf.wakeupAll();
        assertEquals(1, apf.queued());
        for (int i = 0; i < AsyncPf.ASYNC_PF_PER_VCPU - 1; i++) {
            long gfn = 0x100 + i; // untouched: the worker's GUP completes at once
            assertTrue(v.x86().setupAsyncPf(gfn << 12, gfn, false));
        }
        m.simulator().run(10_000_000); // the vCPU thread is not running: everything stays on the done list
        assertEquals(AsyncPf.ASYNC_PF_PER_VCPU, apf.doneSize());
        assertEquals(AsyncPf.ASYNC_PF_PER_VCPU, apf.queued());
        assertFalse(v.x86().setupAsyncPf(0x200L << 12, 0x200, false), "the 65th goes synchronous");
        // consuming them frees the slots
        apf.checkCompletion();
        assertEquals(0, apf.queued());
        assertTrue(v.x86().setupAsyncPf(0x200L << 12, 0x200, false));
    }

    @Test
    void guestRamSlotSemantics() {
        GuestRam ram = new GuestRam(1 << 20);
        assertFalse(ram.valid((1 << 20) - 2), "a word must fit");
        assertFalse(ram.write32(1 << 20, 1));
        assertTrue(ram.write32(0x9004, 0xffffffff));
        assertEquals(0xffffffff, ram.read32(0x9004));
    }
}
