package dev.apfsim.realkvm.events;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.apfsim.realkvm.events.Recorded.keys;
import static dev.apfsim.realkvm.events.Recorded.lines;
import static org.junit.jupiter.api.Assertions.*;

/** The normalised sequences of traces recorded on the real host (Linux 6.18, kvm_pvm). */
class NormaliserTest {
    @Test
    void userModeFaultOnTheRealHost() {
        List<ApfEvent> ev = Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED).events();
        assertEquals(List.of(
                "kvm_msr write MSR_KVM_ASYNC_PF_INT = 0xec",
                "kvm_msr write MSR_KVM_ASYNC_PF_EN = 0x5009",
                "kvm_async_pf_ready token 0xffffffff gva 0x0",
                "kvm_apic_accept_irq vec 236",
                "kvm_msr write MSR_KVM_ASYNC_PF_ACK = 0x1",
                "kvm_try_async_get_page gva 0x200000 gfn 0x200",
                "kvm_async_pf_not_present token 0x1000 gva 0x200000",
                "kvm_inj_exception #PF (0x0)",
                "kvm_async_pf_completed gva 0x200000",
                "kvm_async_pf_ready token 0x1000 gva 0x200000",
                "kvm_apic_accept_irq vec 236",
                "kvm_msr write MSR_KVM_ASYNC_PF_ACK = 0x1",
                "kvm_try_async_get_page gva 0x201000 gfn 0x201",
                "kvm_async_pf_not_present token 0x2000 gva 0x201000",
                "kvm_inj_exception #PF (0x0)",
                "kvm_async_pf_completed gva 0x201000",
                "kvm_async_pf_ready token 0x2000 gva 0x201000",
                "kvm_apic_accept_irq vec 236",
                "kvm_msr write MSR_KVM_ASYNC_PF_ACK = 0x1"), keys(ev));
        assertTrue(ev.stream().allMatch(e -> e.vcpu() == 0), "the kworker's completions go to vCPU 0 by gva");
    }

    @Test
    void theModelsFormatGivesTheSameSequence() {
        List<ApfEvent> model = Normaliser.fromText(lines("model/appc-user-fault.trace"), Normaliser.Options.model(236));
        assertEquals(keys(Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED).events()), keys(model),
                "guest_*, apfsim_*, #UD, re-injections and the x2APIC EOI MSR are dropped");
    }

    @Test
    void irqOffFaultLeavesNoAsyncTrace() {
        List<String> k = keys(Recorded.real("appc-irq-off", RunEnd.Kind.FINISHED).events());
        assertTrue(k.stream().noneMatch(s -> s.startsWith("kvm_try_async_get_page")), k.toString());
        assertTrue(k.stream().noneMatch(s -> s.startsWith("kvm_async_pf_not_present")), k.toString());
    }

    @Test
    void efaultIsARunError() {
        List<String> k = keys(Recorded.real("appc-sigbus-irq-off", RunEnd.Kind.EFAULT).events());
        assertEquals("kvm_userspace_exit error (14)", k.getLast());
    }

    @Test
    void twoVcpusAreToldApartByThreadName() {
        var byVcpu = Recorded.real("two-vcpus", RunEnd.Kind.FINISHED).byVcpu();
        assertEquals(Set.of(0, 1), byVcpu.keySet());
        assertTrue(keys(byVcpu.get(1)).contains("kvm_async_pf_not_present token 0x1001 gva 0x208000"));
        assertTrue(keys(byVcpu.get(1)).contains("kvm_async_pf_completed gva 0x208000"));
        assertTrue(keys(byVcpu.get(0)).contains("kvm_async_pf_completed gva 0x200000"));
    }

    @Test
    void filtersKeepOnlyOurThreadsAndRegions() {
        List<String> text = List.of(
                "CPU 0/KVM-10 [000] ..... 1.000001: kvm_try_async_get_page: gva = 0x200000, gfn = 0x200",
                "CPU 0/KVM-99 [001] ..... 1.000002: kvm_try_async_get_page: gva = 0x5000, gfn = 0x5",
                "kworker/0:1-7 [000] ..... 1.000003: kvm_async_pf_completed: gva 0x200000 address 0x7f0000001000",
                "kworker/0:1-7 [000] ..... 1.000004: kvm_async_pf_completed: gva 0x200000 address 0x600000000000",
                "CPU 0/KVM-10 [000] ..... 1.000005: kvm_apic_accept_irq: apicid 0 vec 239 (Fixed|edge)",
                "CPU 0/KVM-10 [000] ..... 1.000006: kvm_userspace_exit: reason restart (4)",
                "CPU 0/KVM-10 [000] ..... 1.000007: kvm_userspace_exit: reason KVM_EXIT_IO (2)",
                "CPU 0/KVM-10 [000] ..... 1.000008: kvm_msr: msr_write 4b564d02 = 0x5009 (#GP)");
        var o = new Normaliser.Options(236, Set.of(10), Map.of(10, 3), List.of(new long[] {0x7f0000000000L,
                0x7f0000010000L}));
        List<ApfEvent> ev = Normaliser.fromText(text, o);
        assertEquals(List.of("kvm_try_async_get_page gva 0x200000 gfn 0x200", "kvm_async_pf_completed gva 0x200000",
                "kvm_msr write MSR_KVM_ASYNC_PF_EN = 0x5009 (#GP)"), keys(ev));
        assertEquals(3, ev.getFirst().vcpu(), "pid 10 is vCPU 3 by the map");
        assertEquals(1_000001_000L, ev.getFirst().timeNs(), "timestamps are kept aside");
    }
}
