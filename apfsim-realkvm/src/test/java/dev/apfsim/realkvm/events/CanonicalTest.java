package dev.apfsim.realkvm.events;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.apfsim.realkvm.events.Recorded.keys;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CanonicalTest {
    private static final long T = 0x1000, GVA = 0x200000;

    @Test
    void aPageReadyOnTheSameEntryAsTheInjectionComesAfterIt() {
        // seen on the real host when the SIGBUS page "completes" before the vCPU re-enters the guest
        List<ApfEvent> raw = List.of(new ApfEvent.TryAsync(1, 0, GVA, 0x200), new ApfEvent.NotPresent(2, 0, T, GVA),
                new ApfEvent.Completed(3, -1, GVA), new ApfEvent.Ready(4, 0, T, GVA),
                new ApfEvent.PageReadyIrq(5, 0, 236), new ApfEvent.PfInjected(6, 0, 4));
        List<ApfEvent> usual = List.of(new ApfEvent.TryAsync(1, 0, GVA, 0x200), new ApfEvent.NotPresent(2, 0, T, GVA),
                new ApfEvent.PfInjected(3, 0, 4), new ApfEvent.Completed(4, -1, GVA), new ApfEvent.Ready(5, 0, T, GVA),
                new ApfEvent.PageReadyIrq(6, 0, 236));
        assertEquals(keys(Canonical.order(usual)), keys(Canonical.order(raw)));
        assertEquals(keys(usual), keys(Canonical.order(raw)));
    }

    @Test
    void aCompletionMovesToJustBeforeItsPageReady() {
        List<ApfEvent> raw = List.of(new ApfEvent.NotPresent(1, 0, T, GVA), new ApfEvent.Completed(2, 0, GVA),
                new ApfEvent.PfInjected(3, 0, 0), new ApfEvent.ApfMsrWrite(4, 0, 0x4b564d07, 1, false),
                new ApfEvent.Ready(5, 0, T, GVA));
        assertEquals(List.of("kvm_async_pf_not_present token 0x1000 gva 0x200000", "kvm_inj_exception #PF (0x0)",
                "kvm_msr write MSR_KVM_ASYNC_PF_ACK = 0x1", "kvm_async_pf_completed gva 0x200000",
                "kvm_async_pf_ready token 0x1000 gva 0x200000"), keys(Canonical.order(raw)));
    }

    @Test
    void undeliveredNotPresentAndLoneCompletionKeepTheirPlaces() {
        // synthetic halt: no injection for the first fault; the second one is injected
        List<ApfEvent> raw = List.of(new ApfEvent.NotPresent(1, 0, T, GVA), new ApfEvent.Completed(2, 0, 0x300000),
                new ApfEvent.Ready(3, 0, T, GVA), new ApfEvent.NotPresent(4, 0, 0x2000, 0x201000),
                new ApfEvent.RunError(5, 0, 14), new ApfEvent.PfInjected(6, 0, 0));
        assertEquals(List.of("kvm_async_pf_not_present token 0x1000 gva 0x200000", "kvm_async_pf_completed gva 0x300000",
                "kvm_async_pf_ready token 0x1000 gva 0x200000", "kvm_async_pf_not_present token 0x2000 gva 0x201000",
                "kvm_inj_exception #PF (0x0)", "kvm_userspace_exit error (14)"), keys(Canonical.order(raw)));
    }
}
