package dev.apfsim.sim;

import dev.apfsim.scenario.BuiltinScenarios;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kvm_guest_cpu_init}: a Linux guest enables PV async PF only when CPUID offers it. */
class CpuidGateTest {
    private static List<TraceEvent.Msr> msrs(String... overrides) {
        return SimRun.of(BuiltinScenarios.load("example-minimal", List.of(overrides))).all(TraceEvent.Msr.class);
    }

    @Test
    void kvmGuestCpuInit_aLinuxGuestEnablesOnlyWhenAsyncPfIntIsOffered() {
        List<TraceEvent.Msr> offered = msrs();
        assertEquals(0x4b564d06, offered.get(0).msr()); // INT, then EN
        assertEquals(0x4b564d02, offered.get(1).msr());
        List<TraceEvent.Msr> notOffered = msrs("host.cpuid.async_pf_int=false");
        assertTrue(notOffered.isEmpty(), notOffered.toString());
    }

    @Test
    void kvmGuestCpuInit_aLinux57GuestChecksKvmFeatureAsyncPf() {
        assertFalse(msrs("guest.apf=linux-legacy", "host.cpuid.async_pf_int=false").isEmpty());
        assertTrue(msrs("guest.apf=linux-legacy", "host.cpuid.async_pf=false").isEmpty());
    }

    @Test
    void aCustomGuestWritesTheMsrsWhateverCpuidSays() {
        List<TraceEvent.Msr> m = msrs("guest.apf=custom", "host.cpuid.async_pf_int=false",
                "host.enforce_pv_cpuid=true").stream().filter(x -> x.msr() != 0x4b564d07).toList(); // not ACKs
        assertEquals(2, m.size());
        assertTrue(m.get(0).gp(), m.toString()); // KVM_CAP_ENFORCE_PV_FEATURE_CPUID: guest_pv_has fails, #GP
    }
}
