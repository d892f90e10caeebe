package dev.apfsim.realkvm.events;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CycleTest {
    @Test
    void theSigbusLoopOfTheRealHost() {
        List<ApfEvent> ev = Canonical.order(Recorded.real("appc-sigbus-irq-on", RunEnd.Kind.STILL_RUNNING).events());
        Cycle c = Cycle.detect(ev);
        assertNotNull(c);
        assertEquals(7, c.period());
        assertTrue(c.shape().contains("kvm_async_pf_not_present token * gva 0x200000"), c.shape().toString());
        assertTrue(c.shape().contains("kvm_inj_exception #PF (0x0)"));
        assertTrue(c.cycles() > 20, "the recorded prefix holds dozens of cycles: " + c.cycles());
        assertTrue(c.cyclesPerSecond() > 10, "rate from the kernel's timestamps: " + c.cyclesPerSecond());
        // the tokens climb: cycle k has token (k+1) << 12
        assertTrue(ev.stream().anyMatch(e -> e.key().equals("kvm_async_pf_not_present token 0x10000 gva 0x200000")));
    }

    @Test
    void aRunStoppedInsideACycleStillShowsItsLoop() {
        List<ApfEvent> ev = Canonical.order(Recorded.real("sigbus-cut-mid-cycle", RunEnd.Kind.STILL_RUNNING).events());
        assertEquals("kvm_async_pf_completed gva 0x200000", ev.getLast().key(), "no #PF after the last not-present");
        Cycle c = Cycle.detect(ev);
        assertNotNull(c);
        assertEquals(7, c.period());
    }

    @Test
    void finiteRunsHaveNoLoop() {
        assertNull(Cycle.detect(Canonical.order(Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED).events())));
        assertNull(Cycle.detect(List.of()));
    }

    @Test
    void aLoopNeedsThreeRepeats() {
        List<ApfEvent> ev = new ArrayList<>();
        for (int k = 1; k <= 2; k++) {
            ev.add(new ApfEvent.NotPresent(k * 10, 0, k << 12, 0x200000));
            ev.add(new ApfEvent.Ready(k * 10 + 5, 0, k << 12, 0x200000));
        }
        assertNull(Cycle.detect(ev));
        ev.add(new ApfEvent.NotPresent(30, 0, 3 << 12, 0x200000));
        ev.add(new ApfEvent.Ready(35, 0, 3 << 12, 0x200000));
        Cycle c = Cycle.detect(ev);
        assertEquals(2, c.period());
        assertEquals(0, c.start());
    }
}
