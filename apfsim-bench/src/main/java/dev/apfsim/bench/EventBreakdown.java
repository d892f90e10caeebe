package dev.apfsim.bench;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceSink;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a run's engine events and trace events come from, per completed async PF cycle: engine events by
 * handler (through the engine's probe) and trace events by name. Not timed; the starting point for coalescing.
 */
final class EventBreakdown {
    final Map<String, Long> engine = new LinkedHashMap<>();
    /** Steps run as continuations, without an engine event ({@code Simulator.continueAt}). */
    final Map<String, Long> inline = new LinkedHashMap<>();
    final Map<String, Long> trace = new LinkedHashMap<>();
    long cycles;
    long events;
    long inlineSteps;
    long traceEvents;

    static EventBreakdown of(Scenario s) {
        EventBreakdown b = new EventBreakdown();
        Machine m = new Machine(s);
        m.simulator().setProbe((h, code, queued) -> (queued ? b.engine : b.inline).merge(label(h, code), 1L,
                Long::sum));
        m.attach(new TraceSink() {
            @Override
            public void accept(TraceEvent e) {
                b.trace.merge(e.name(), 1L, Long::sum);
            }
        });
        RunResult r = m.run();
        b.cycles = Measured.asyncPfCycles(r);
        b.events = r.events();
        b.inlineSteps = m.simulator().inlineSteps();
        b.traceEvents = r.traceEvents();
        return b;
    }

    /** What an event of {@code handler} with {@code code} does (the codes are the handlers' own constants). */
    static String label(EventHandler h, int code) {
        String c = h.getClass().getSimpleName();
        return switch (c) {
            case "KvmVcpu" -> switch (code) {
                case 0 -> "vCPU: enter (vcpu_run loop after an exit, a kick or a wake-up)";
                case 1 -> "vCPU: guest resumes at the end of a compute segment other events came before";
                case 2 -> "vCPU: exit handled at its time";
                case 3 -> "vCPU: an interrupt taken a few instructions later (checker choice)";
                default -> "vCPU: code " + code;
            };
            case "AsyncPf", "Kworker" -> "kworker: async_pf_execute starts (after dispatch latency)";
            case "HostCpus" -> "host CPU: time slice ends (the next thread may run)";
            case "BackingDevice" -> "backing device: read done";
            case "Scheduler" -> code == 0 ? "guest: scheduler tick" : "guest: sleep done";
            case "HostMemory" -> code == 1 ? "host memory: failed GUP answered" : "host memory: delayed arrival";
            default -> c + " " + code;
        };
    }

    /** Lines: per-cycle counts, largest first. */
    List<String> lines(Map<String, Long> counts, int max) {
        List<Map.Entry<String, Long>> e = new ArrayList<>(counts.entrySet());
        e.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(max, e.size()); i++) {
            out.add(String.format("  %6.2f  %s", e.get(i).getValue() / (double) Math.max(1, cycles), e.get(i).getKey()));
        }
        return out;
    }
}
