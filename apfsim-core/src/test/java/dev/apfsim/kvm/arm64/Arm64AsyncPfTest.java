package dev.apfsim.kvm.arm64;

import dev.apfsim.arch.arm64.Arm64Apf;
import dev.apfsim.arch.arm64.Arm64CpuState;

import dev.apfsim.host.HostArch;

import dev.apfsim.metrics.Counter;
import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.ScenarioException;
import dev.apfsim.scenario.ScenarioLoader;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.FtraceFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The arm64 proposal of seed thread 002 (RFCv2 rules, PC-range guard, SDEI) on the shared run loop. */
class Arm64AsyncPfTest {
    private static final String READER = """
            vm: {vcpus: 1, memory: 64MiB}
            host: {arch: arm64, remote: {latency: 1ms}}
            memory: {regions: [{start: 0x300000, size: 12KiB, state: remote}]}
            workload:
              tasks:
                - {type: script, name: reader, steps: [touch: 0x300000, touch: 0x301000, touch: 0x302000]}
                - {type: statistical, name: cpu, compute: 20us, touches_per_op: 0, max_ops: 200}
            """;

    private static Scenario reader(String injection) {
        return ScenarioLoader.load("reader.yaml", READER, List.of("host.policy.arm64_injection=" + injection));
    }

    private record Traced(RunResult result, List<String> lines, Machine machine) {
        long count(Counter c) {
            return result.counters().get(c.key());
        }
    }

    private static Traced run(Scenario s) {
        Machine m = new Machine(s);
        List<String> lines = new ArrayList<>();
        m.attach(e -> lines.add(FtraceFormat.line(e)));
        return new Traced(m.run(), lines, m);
    }

    @Test
    void loadsTheArchAndTheInjectionPolicy() {
        Scenario s = reader("sdei");
        assertEquals(HostArch.ARM64, s.kvm().arch());
        assertEquals(Arm64Injection.SDEI, s.kvm().arm64Injection());
        Scenario d = ScenarioLoader.load("d.yaml", "");
        assertEquals(HostArch.X86, d.kvm().arch(), "x86 unless asked");
        assertEquals(Arm64Injection.PC_RANGE, d.kvm().arm64Injection(), "RFCv2 as posted");
        for (String injection : List.of("pc-range", "unguarded", "sdei")) {
            Scenario r = reader(injection);
            assertEquals(r, ScenarioLoader.load("r.yaml", dev.apfsim.scenario.ScenarioWriter.toYaml(r)),
                    "written and read back: " + injection);
        }
        ScenarioException e = assertThrows(ScenarioException.class,
                () -> ScenarioLoader.load("bad.yaml", "host: {arch: riscv}"));
        assertEquals("bad.yaml:1:14: field host.arch: expected one of x86, arm64, s390, got \"riscv\"", e.getMessage());
        ScenarioException p = assertThrows(ScenarioException.class,
                () -> ScenarioLoader.load("bad.yaml", "host: {policy: {arm64_injection: pc}}"));
        assertTrue(p.getMessage().contains("expected one of pc-range, unguarded, sdei"), p.getMessage());
    }

    /** RFCv2: the guest enables through ARM_SMCCC_KVM_FUNC_APF; both notifications are data aborts with the token. */
    @ParameterizedTest
    @ValueSource(strings = {"pc-range", "unguarded"})
    void bothNotificationsAreDataAborts(String injection) {
        Traced t = run(reader(injection));
        assertEquals("ok", t.result().outcome().kind());
        assertTrue(t.result().violations().isEmpty(), t.result().violations().toString());
        assertEquals(3, t.count(Counter.ASYNC_STARTED));
        assertEquals(3, t.count(Counter.NOT_PRESENT_INJECTED));
        assertEquals(4, t.count(Counter.PAGE_READY_INJECTED), "three page-ready plus the wake-all of the enabling");
        assertEquals(0, t.count(Counter.SYNTHETIC_HALTS), "arm64 has no synthetic halt");
        assertEquals(3, t.result().tasks().getFirst().apfWaits());
        // the enabling calls: no_fault_inst_range, then the control block (area | ENABLED)
        List<String> hvc = t.lines().stream().filter(l -> l.contains("kvm_hvc_arm64")).toList();
        assertEquals(2, hvc.size(), hvc.toString());
        assertTrue(hvc.getFirst().endsWith("HVC at 0xffff800010200000 (r0: 0x86000001, imm: 0x0)"), hvc.getFirst());
        Arm64Vcpu rules = t.machine().arm64Vcpus().getFirst();
        assertEquals(0x9000 | Arm64Apf.KVM_ASYNC_PF_ENABLED, rules.controlBlock());
        assertEquals(0x800, rules.noFaultInstRange());
        assertEquals(1, t.machine().ram().read32(0x9000 + Arm64Apf.OFFSET_ENABLED), "apf_data.enabled");
        List<String> injected = t.lines().stream().filter(l -> l.contains("apfsim_arm64_inject")).toList();
        assertEquals(7, injected.size());
        assertTrue(injected.getFirst().contains("dabt token 0xffffffff reason 2"), "wake-all first: " + injected);
        assertTrue(injected.get(1).contains("dabt token 0x1000 reason 1 pc 0x400000 (user)"), injected.get(1));
        assertTrue(injected.stream().allMatch(l -> l.contains("dabt")));
    }

    /** SDEI design: not-present is an SDEI event, page-ready a PPI acknowledged with a call (like x86 5.8+). */
    @Test
    void sdeiDeliversNotPresentAsAnEventAndPageReadyAsAPpi() {
        Traced t = run(reader("sdei"));
        assertEquals("ok", t.result().outcome().kind());
        assertTrue(t.result().violations().isEmpty(), t.result().violations().toString());
        assertEquals(3, t.count(Counter.NOT_PRESENT_INJECTED));
        assertEquals(4, t.count(Counter.PAGE_READY_INJECTED));
        assertEquals(4, t.count(Counter.GUEST_APF_IRQS));
        assertEquals(4, t.count(Counter.ACKS));
        List<String> injected = t.lines().stream().filter(l -> l.contains("apfsim_arm64_inject")).toList();
        assertEquals(3, injected.size());
        assertTrue(injected.stream().allMatch(l -> l.contains(": sdei token") && l.endsWith("(user)")),
                injected.toString());
        assertTrue(t.lines().stream().anyMatch(l -> l.contains("kvm_apic_accept_irq: apicid 0 vec 243")),
                "page-ready PPI on the guest's vector");
    }

    /**
     * kvm_arch_can_inject_async_page_present / _not_present at each PC region: pc-range refuses only inside
     * [VBAR_EL1, VBAR_EL1 + no_fault_inst_range), which holds the vector stub but not kernel_entry/kernel_exit.
     */
    @Test
    void pcGuardCoversTheVectorsOnly() {
        for (String injection : List.of("pc-range", "unguarded")) {
            Machine m = new Machine(reader(injection));
            m.start();
            m.simulator().run(100_000); // booted, the wake-all taken, the reader asleep on its first page
            Arm64Vcpu rules = m.arm64Vcpus().getFirst();
            Arm64CpuState cpu = rules.cpu;
            assertEquals(Arm64Apf.KVM_ASYNC_PF_ENABLED, rules.controlBlock() & 1, injection);
            cpu.cpl = 0;
            boolean guarded = injection.equals("pc-range");
            for (Arm64CpuState.Window w : Arm64CpuState.Window.values()) {
                cpu.window = w;
                cpu.vectorOffset = 0x280;
                boolean refused = guarded && w == Arm64CpuState.Window.VECTORS;
                assertEquals(!refused, rules.canDequeueAsyncPagePresent(), injection + " " + w);
            }
            cpu.window = Arm64CpuState.Window.VECTORS;
            cpu.cpl = 3; // a user fault is never in the vectors; here only the PC matters
            assertEquals(guarded ? Counter.SYNC_PC_GUARD : null, rules.cannotDoAsyncPf());
            cpu.window = Arm64CpuState.Window.KERNEL_EXIT;
            assertNull(rules.cannotDoAsyncPf(), "kernel_exit lies outside the vectors");
            cpu.window = Arm64CpuState.Window.NONE;
            cpu.cpl = 0;
            assertEquals(Counter.SYNC_KERNEL_MODE, rules.cannotDoAsyncPf(), "send_user_only");
            m.ram().write32(0x9000, Arm64Apf.KVM_PV_REASON_PAGE_READY);
            cpu.cpl = 3;
            assertEquals(Counter.SYNC_EVENT_PENDING, rules.cannotDoAsyncPf(), "one signal at a time");
            assertFalse(rules.canDequeueAsyncPagePresent(), "one signal at a time");
            assertTrue(rules.vcpuHasEvents(), "an unconsumed reason makes the vCPU runnable");
        }
    }

    @Test
    void builtinVariantsLoad() {
        assertEquals(List.of("old", "rfc", "sdei", "fixed"),
                List.copyOf(BuiltinScenarios.variants("seed-002-arm64").keySet()));
        var fixed = BuiltinScenarios.load("seed-002-arm64", BuiltinScenarios.variants("seed-002-arm64").get("fixed"));
        assertEquals(dev.apfsim.kvm.arm64.Arm64Injection.SDEI, fixed.kvm().arm64Injection());
        assertTrue(fixed.kvm().policy().pageReadyWaitsForAck(), "fixed: SDEI and the page-ready after the ACK");
        assertEquals(HostArch.ARM64, BuiltinScenarios.load("seed-002-arm64").kvm().arch());
    }
}
