package dev.apfsim.check;

import dev.apfsim.engine.Simulator;
import dev.apfsim.kvm.VcpuView;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checker turns the model's probes into violations at the moment they fire, and correlates host and guest. */
class ModelChecksTest {
    final Simulator sim = new Simulator(1);
    final Tracer tracer = new Tracer();
    final List<TraceEvent> events = new ArrayList<>();
    final List<VcpuView.Outstanding> queue = new ArrayList<>();
    final Monitor monitor = new Monitor(sim, tracer);

    ModelChecksTest() {
        VcpuView v = new VcpuView() {
            public int id() {
                return 0;
            }

            public List<Outstanding> outstanding() {
                return queue;
            }

            public boolean pageReadyInFlight(long token) {
                return false;
            }
        };
        tracer.attach(events::add);
        tracer.attachProbe(new ModelChecks(monitor, List.of(v)));
    }

    List<String> violations() {
        return events.stream().filter(e -> e instanceof TraceEvent.Violation).map(e -> {
            TraceEvent.Violation v = (TraceEvent.Violation) e;
            return v.invariant() + ": " + v.detail();
        }).toList();
    }

    @Test
    void aViolationIsEmittedWhereTheProbeFires() {
        tracer.emit(new TraceEvent.Ready(0, 0, 0x1000, 0));
        tracer.probe(new Probe.SharedWordWrite(0, Probe.Word.TOKEN, 0x1000, 0x2000));
        tracer.emit(new TraceEvent.Ready(0, 0, 0x2000, 0));
        tracer.probe(new Probe.SharedWordWrite(0, Probe.Word.TOKEN, 0, 0x3000)); // slot free: fine
        assertEquals(3, events.size());
        assertTrue(events.get(1) instanceof TraceEvent.Violation, "between the two events: " + events);
        assertEquals(List.of("slot-overwritten: token slot holds 0x1000 when writing 0x2000"), violations());
    }

    @Test
    void tokensAreCheckedAgainstTheOutstandingQueue() {
        queue.add(new VcpuView.Outstanding(0x1000, 0x300));
        tracer.probe(new Probe.AsyncPfSetup(0, 0x1000, 0x301));
        tracer.probe(new Probe.AsyncPfSetup(0, 0, 0x302));
        assertEquals(List.of("token-clash: token 0x1000 already outstanding for gfn 0x300",
                "token-zero: alloc_apf_token wrapped to token 0 (gfn 0x302)"), violations());
    }

    @Test
    void reasonConfusionCorrelatesTheHostsNotificationWithTheGuestsReading() {
        // host entered token 0x2000, the guest's handler read flags 0: async taken as regular
        tracer.probe(new Probe.NotificationDelivered(0, 0x2000));
        tracer.probe(new Probe.GuestFaultEntered(10, 0, 1));
        tracer.probe(new Probe.GuestFaultClassified(20, 0, 1, Probe.Site.X86_PF, 0, 0x2000));
        // a fault of the guest's own (nothing delivered) read stale flags 1: regular taken as async
        tracer.probe(new Probe.GuestFaultEntered(30, 0, 2));
        tracer.probe(new Probe.GuestFaultClassified(40, 0, 2, Probe.Site.X86_PF, 1, 0x5000));
        // consistent readings raise nothing
        tracer.probe(new Probe.NotificationDelivered(0, 0x3000));
        tracer.probe(new Probe.GuestFaultEntered(50, 0, 3));
        tracer.probe(new Probe.GuestFaultClassified(60, 0, 3, Probe.Site.X86_PF, 1, 0x3000));
        assertEquals(List.of("reason-confusion: async #PF token 0x2000 taken as a regular fault (flags 0)",
                "reason-confusion: regular #PF at 0x5000 taken as async (stale flags 1)"), violations());
        assertEquals(20, monitor.violations().getFirst().timeNs(), "at the guest's inline time");
    }

    @Test
    void hltBusyLoopNeedsAHundredThousandExitsWithoutProgress() {
        for (int i = 0; i < ModelChecks.HLT_BUSY_LOOP_EXITS - 1; i++) {
            tracer.probe(new Probe.HaltExit(0, 3));
        }
        tracer.probe(new Probe.HaltProgress(0));
        tracer.probe(new Probe.HaltExit(0, 3));
        assertEquals(List.of(), violations(), "progress resets the count");
        for (int i = 1; i < ModelChecks.HLT_BUSY_LOOP_EXITS; i++) {
            tracer.probe(new Probe.HaltExit(0, 3));
        }
        assertEquals(List.of("hlt-busy-loop: 100000 HLT exits returned at once (3 completions on the done list "
                + "that cannot be dequeued)"), violations());
    }

    @Test
    void aWakeAllMayOnlyUnhashTheNodesOfTheCpuThatReceivedIt() {
        tracer.probe(new Probe.WakeAllUnhashed(10, 1, 1, 0x1001, 2)); // apf_task_wake_all: n->cpu == this CPU
        assertEquals(List.of(), violations());
        tracer.probe(new Probe.WakeAllUnhashed(20, 1, 0, 0x1000, 0));
        tracer.probe(new Probe.WakeAllUnhashed(20, 1, 0, 0x2000, -1));
        assertEquals(List.of("wake-all-scope: wake-all on CPU 1 woke task 0 asleep on token 0x1000 registered on CPU 0",
                "wake-all-scope: wake-all on CPU 1 unhashed the dummy node of token 0x2000 registered on CPU 0"),
                violations());
        assertEquals(20, monitor.violations().getFirst().timeNs(), "at the guest's inline time");
    }
}
