package dev.apfsim.realkvm.diff;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apfsim.realkvm.events.ApfEvent;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.events.Canonical;
import dev.apfsim.realkvm.events.Normaliser;
import dev.apfsim.realkvm.events.Recorded;
import dev.apfsim.realkvm.events.RunEnd;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The diff on traces recorded on the real host against model-format traces. */
class ConformDiffTest {
    private static ApfTrace model(List<String> lines, RunEnd.Kind end) {
        return ApfTrace.fromFtrace("model", lines, Normaliser.Options.model(236), RunEnd.of(end));
    }

    @Test
    void theSameBehaviourInTheModelsFormatMatches() {
        ApfTrace real = Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED);
        DiffReport r = ConformDiff.compare("appc-user-fault", real,
                model(Recorded.lines("model/appc-user-fault.trace"), RunEnd.Kind.FINISHED));
        assertTrue(r.match(), r.render());
        assertTrue(r.summaryLine().contains("match"));
        assertEquals(2, r.a().timing().faultToInjection().n());
        assertEquals(2, r.b().timing().completedToReady().n());
        assertEquals(7_000, r.b().timing().completedToReady().medianNs(), "the model trace's stamps are 7 µs apart");
    }

    @Test
    void theFirstDifferenceIsShownWithContext() {
        List<String> m = new ArrayList<>(Recorded.lines("model/appc-user-fault.trace"));
        // a model that sets U/S in the error code of an async #PF taken at CPL3 (KVM injects 0)
        m.replaceAll(l -> l.endsWith("kvm_inj_exception: #PF (0x0)") ? l.replace("(0x0)", "(0x4)") : l);
        DiffReport r = ConformDiff.compare("appc-user-fault", Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED),
                model(m, RunEnd.Kind.FINISHED));
        assertFalse(r.match());
        assertEquals(DiffReport.Kind.EVENT, r.difference().kind());
        assertEquals(0, r.difference().vcpu());
        assertEquals(7, r.difference().index());
        DiffReport.Line hereA = r.difference().contextA().stream().filter(DiffReport.Line::here).findFirst().orElseThrow();
        DiffReport.Line hereB = r.difference().contextB().stream().filter(DiffReport.Line::here).findFirst().orElseThrow();
        assertEquals("kvm_inj_exception #PF (0x0)", hereA.event());
        assertEquals("kvm_inj_exception #PF (0x4)", hereB.event());
        assertEquals(7, r.difference().contextA().size(), "three events either side");
        String text = r.render();
        assertTrue(text.contains(">    7 kvm_inj_exception #PF (0x0)"), text);
        assertTrue(r.summaryLine().contains("DIFFERENT at vcpu0 event 7"), r.summaryLine());
    }

    @Test
    void aShorterSideIsADifferenceWhereItStops() {
        List<String> all = Recorded.lines("model/appc-user-fault.trace");
        // the model's run stops before the second fault
        List<String> m = all.subList(0, all.indexOf(all.stream().filter(l -> l.contains("gva = 0x201000"))
                .findFirst().orElseThrow()));
        DiffReport r = ConformDiff.compare("x", Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED),
                model(m, RunEnd.Kind.FINISHED));
        assertFalse(r.match());
        assertEquals(12, r.difference().index());
        assertEquals("model has no more events", r.difference().what());
    }

    @Test
    void differentEndsAreADifference() {
        ApfTrace real = Recorded.real("appc-sigbus-irq-off", RunEnd.Kind.EFAULT);
        ApfTrace same = new ApfTrace("model", real.events(), RunEnd.of(RunEnd.Kind.FINISHED));
        DiffReport r = ConformDiff.compare("appc-sigbus-irq-off", real, same);
        assertFalse(r.match());
        assertEquals(DiffReport.Kind.END, r.difference().kind());
        assertTrue(r.summaryLine().contains("real efault, model finished"), r.summaryLine());
        assertTrue(ConformDiff.compare("x", real, new ApfTrace("model", real.events(), RunEnd.of(RunEnd.Kind.EFAULT)))
                .match());
    }

    /** A model-format SIGBUS loop: enable, then cycles of fault / not-present / #PF / completed / ready / ACK. */
    private static List<String> modelLoop(int cycles, boolean ack, long cycleNs) {
        List<String> l = new ArrayList<>();
        long t = 1_000_000;
        l.add(line(t, "kvm_msr", "msr_write 4b564d06 = 0xec"));
        l.add(line(t += 1000, "kvm_msr", "msr_write 4b564d02 = 0x5009"));
        l.add(line(t += 1000, "kvm_async_pf_ready", "token 0xffffffff gva 0x0"));
        l.add(line(t += 1000, "kvm_apic_accept_irq", "apicid 0 vec 236 (Fixed|edge)"));
        l.add(line(t += 1000, "kvm_msr", "msr_write 4b564d07 = 0x1"));
        for (int k = 1; k <= cycles; k++) {
            long base = t + k * cycleNs;
            String tok = "0x" + Integer.toHexString(k << 12);
            l.add(line(base, "kvm_try_async_get_page", "gva = 0x200000, gfn = 0x200"));
            l.add(line(base + 1000, "kvm_async_pf_not_present", "token " + tok + " gva 0x200000"));
            l.add(line(base + 2000, "kvm_inj_exception", "#PF (0x0)"));
            l.add("kworker/u16:0-2000 [000] " + stamp(base + 3000) + ": kvm_async_pf_completed: gva 0x200000"
                    + " address 0x7f0000000000");
            l.add(line(base + 4000, "kvm_async_pf_ready", "token " + tok + " gva 0x200000"));
            l.add(line(base + 5000, "kvm_apic_accept_irq", "apicid 0 vec 236 (Fixed|edge)"));
            if (ack) {
                l.add(line(base + 6000, "kvm_msr", "msr_write 4b564d07 = 0x1"));
            }
        }
        return l;
    }

    private static String stamp(long ns) {
        return String.format("%d.%06d", ns / 1_000_000_000, (ns / 1000) % 1_000_000);
    }

    private static String line(long ns, String name, String fields) {
        return "CPU 0/KVM-1000 [000] " + stamp(ns) + ": " + name + ": " + fields;
    }

    @Test
    void endlessLoopsCompareByPrefixAndPeriod() {
        ApfTrace real = Recorded.real("appc-sigbus-irq-on", RunEnd.Kind.STILL_RUNNING);
        DiffReport r = ConformDiff.compare("appc-sigbus-irq-on", real,
                model(modelLoop(500, true, 400_000), RunEnd.Kind.STILL_RUNNING));
        assertTrue(r.match(), r.render());
        assertEquals(7, r.a().loops().get(0).period());
        assertEquals(7, r.b().loops().get(0).period());
        assertEquals(2500, r.b().cyclesPerSecond(), 1, "a cycle every 400 µs");
        assertTrue(r.render().contains("loop cycles/s"), r.render());
        assertTrue(r.summaryLine().contains("cycles/s"), r.summaryLine());
    }

    @Test
    void aRealRunStoppedInsideACycleStillMatchesTheModelsLoop() {
        ApfTrace real = Recorded.real("sigbus-cut-mid-cycle", RunEnd.Kind.STILL_RUNNING);
        ApfTrace model = new ApfTrace("model", Canonical.order(real.events()).subList(0, real.events().size() - 10), RunEnd.of(RunEnd.Kind.STILL_RUNNING));
        List<ApfEvent> longer = new ArrayList<>(Canonical.order(real.events()));
        longer.removeLast(); // the real run ends with not-present, completed: the model went on to inject the #PF
        longer.add(new ApfEvent.PfInjected(0, 0, 4));
        assertTrue(ConformDiff.compare("cut", real, model).match());
        assertTrue(ConformDiff.compare("cut", real, new ApfTrace("model", longer, RunEnd.of(RunEnd.Kind.STILL_RUNNING)))
                .match());
    }

    @Test
    void aLoopOfAnotherShapeIsADifference() {
        ApfTrace real = Recorded.real("appc-sigbus-irq-on", RunEnd.Kind.STILL_RUNNING);
        DiffReport r = ConformDiff.compare("appc-sigbus-irq-on", real,
                model(modelLoop(500, false, 400_000), RunEnd.Kind.STILL_RUNNING));
        assertFalse(r.match());
        // the model's first cycle lacks the ACK the real guest writes: the prefix already differs there
        assertEquals(DiffReport.Kind.EVENT, r.difference().kind());
        assertEquals(11, r.difference().index());
    }

    @Test
    void aLoopOnOneSideOnlyIsADifference() {
        ApfTrace real = Recorded.real("appc-sigbus-irq-on", RunEnd.Kind.STILL_RUNNING);
        List<ApfEvent> prefix = real.canonicalByVcpu().get(0).subList(0, 12);
        DiffReport r = ConformDiff.compare("x", real, new ApfTrace("model", prefix, RunEnd.of(RunEnd.Kind.STILL_RUNNING)));
        assertFalse(r.match());
        assertEquals(DiffReport.Kind.LOOP, r.difference().kind());
        assertTrue(r.difference().what().startsWith("real ends in a loop of 7 events, model does not"),
                r.difference().what());
    }

    @Test
    void vcpusAreComparedSeparately() {
        ApfTrace real = Recorded.real("two-vcpus", RunEnd.Kind.FINISHED);
        // the same events with vCPU 1's printed first: interleaving across vCPUs is not compared
        List<ApfEvent> swapped = new ArrayList<>(real.byVcpu().get(1));
        swapped.addAll(real.byVcpu().get(0));
        assertTrue(ConformDiff.compare("two-vcpus", real, new ApfTrace("model", swapped, RunEnd.of(RunEnd.Kind.FINISHED)))
                .match());
        List<ApfEvent> onlyZero = real.byVcpu().get(0);
        DiffReport r = ConformDiff.compare("two-vcpus", real, new ApfTrace("model", onlyZero, RunEnd.of(RunEnd.Kind.FINISHED)));
        assertFalse(r.match());
        assertEquals(1, r.difference().vcpu());
        assertEquals(0, r.difference().index());
    }

    @Test
    void jsonCarriesTheVerdictTheDifferenceAndTheTiming() throws Exception {
        List<String> m = new ArrayList<>(Recorded.lines("model/appc-user-fault.trace"));
        m.replaceAll(l -> l.contains("msr_write 4b564d02") ? l.replace("0x5009", "0x500b") : l);
        DiffReport r = ConformDiff.compare("appc-user-fault", Recorded.real("appc-user-fault", RunEnd.Kind.FINISHED),
                model(m, RunEnd.Kind.FINISHED));
        JsonNode n = new ObjectMapper().readTree(r.toJson());
        assertFalse(n.get("match").asBoolean());
        assertEquals(1, n.at("/difference/index").asInt());
        assertEquals("EVENT", n.at("/difference/kind").asText());
        assertEquals("kvm_msr write MSR_KVM_ASYNC_PF_EN = 0x500b", n.at("/difference/contextB/1/event").asText());
        assertEquals("FINISHED", n.at("/a/end/kind").asText());
        assertEquals(2, n.at("/a/timing/faultToInjection/n").asInt());
        assertTrue(n.get("summary").asText().startsWith("appc-user-fault"));
    }
}
