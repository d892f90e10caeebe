package dev.apfsim.sim;

import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.Task;
import dev.apfsim.memory.BackingDevice;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.Tracer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Turns the state of a finished machine into a {@link RunResult}. */
final class ResultBuilder {
    private ResultBuilder() {
    }

    static String apfMode(Scenario s) {
        if (!s.kvm().asyncPf()) {
            return "sync";
        }
        if (s.guest().isTest()) {
            return "test"; // its own script enables (or not)
        }
        return s.guest().apf() == GuestConfig.ApfMode.NEVER ? "off" : "on";
    }

    static RunResult build(Machine m, Scenario s, Outcome outcome, long simNs, long wallNs, Tracer tracer,
                           BackingDevice swap, BackingDevice remote) {
        Metrics metrics = m.metrics();
        double seconds = simNs / 1e9;
        List<RunResult.TaskResult> tasks = new ArrayList<>();
        for (Task t : m.guest().tasks()) {
            tasks.add(new RunResult.TaskResult(t.id, t.name, t.cpu, t.state().name().toLowerCase(), t.ops(),
                    seconds > 0 ? t.ops() / seconds : 0, t.userNs(), t.kernelNs(), t.apfWaits(),
                    t.killedAt() >= 0 ? t.killedAt() : null));
        }
        List<RunResult.VcpuResult> vcpus = new ArrayList<>();
        for (int i = 0; i < metrics.vcpuTime.length; i++) {
            vcpus.add(new RunResult.VcpuResult(i, metrics.vcpuTime[i].asMap()));
        }
        Map<String, Map<String, Object>> lat = new LinkedHashMap<>();
        lat.put("fault_to_ready", metrics.faultToReady.summary());
        lat.put("task_wait", metrics.taskWait.summary());
        lat.put("sync_fault", metrics.syncFault.summary());
        var mem = m.memory();
        RunResult.MemoryResult memory = new RunResult.MemoryResult(mem.resident(), mem.evictions(), mem.minorFaults(),
                swap.reads(), remote.reads(), mem.failedGups());
        long events = m.simulator().eventCount();
        double eps = wallNs > 0 ? events / (wallNs / 1e9) : 0;
        return new RunResult(RunResult.SCHEMA_VERSION, s.name(), s.seed(), apfMode(s), simNs, events, tracer.count(),
                wallNs, eps, view(outcome), metrics.counters.asMap(), lat, tasks, vcpus, memory,
                metrics.workerNs, failure(metrics, s, outcome, simNs), m.monitor().violations().stream().map(Object::toString).toList(),
                tracer.fingerprint());
    }

    /** Null unless a worker's GUP failed at least once. */
    static RunResult.FailureResult failure(Metrics metrics, Scenario s, Outcome outcome, long simNs) {
        long first = metrics.firstWorkerErrorNs;
        if (first < 0) {
            return null;
        }
        Long detected = null;
        String visible = "never";
        switch (outcome) {
            case Outcome.VmStopped v -> {
                detected = v.timeNs();
                visible = "vm_stopped";
            }
            case Outcome.LivelockSuspected l -> {
                detected = l.timeNs();
                visible = "livelock_detected";
            }
            default -> {
                if (metrics.firstTaskKilledNs >= 0) {
                    detected = metrics.firstTaskKilledNs;
                    visible = "task_killed";
                }
            }
        }
        long cycles = metrics.counters.get(dev.apfsim.metrics.Counter.WORKER_ERRORS);
        long last = metrics.lastWorkerErrorNs;
        double rate = cycles > 1 && last > first ? (cycles - 1) / ((last - first) / 1e9) : 0;
        var c = s.kvm().costs();
        var g = s.guest();
        // one futile cycle: the EPT violation and async setup, the async #PF handler and switch away, the
        // page-ready interrupt with its ACK exit, and the switch back to the retrying task
        long perCycle = c.vmExitNs() + c.eptViolationNs() + c.asyncSetupNs() + c.vmEntryNs() + g.pfHandlerNs()
                + g.contextSwitchNs() + g.irqHandlerNs() + c.vmExitNs() + c.msrNs() + c.vmEntryNs()
                + g.contextSwitchNs();
        return new RunResult.FailureResult(first, detected, detected == null ? null : detected - first, visible,
                cycles, rate, cycles * perCycle, metrics.failedWorkerNs);
    }

    /** Seconds as ftrace prints them: 1.234567. */
    private static String seconds(long ns) {
        return String.format(java.util.Locale.ROOT, "%d.%06d", ns / 1_000_000_000L, ns % 1_000_000_000L / 1_000);
    }

    static RunResult.OutcomeView view(Outcome o) {
        return switch (o) {
            case Outcome.Ok ok -> new RunResult.OutcomeView("ok", "ok", null, null, null, null, null, null, null, null);
            case Outcome.GuestPanic p -> new RunResult.OutcomeView(p.kind(), "guest panic: " + p.message(), p.timeNs(),
                    p.cpu(), null, null, null, null, null, null);
            case Outcome.VmStopped v -> new RunResult.OutcomeView(v.kind(),
                    "VM stopped: " + v.reason() + (v.errno() == 14 ? " (kvm run failed Bad address)" : ""),
                    v.timeNs(), v.vcpu(), v.gfn(), v.errno(), null, null, null, null);
            case Outcome.LivelockSuspected l -> new RunResult.OutcomeView(l.kind(),
                    String.format("livelock suspected: gfn %#x retried %d times (%.0f cycles/s), tokens %#x..%#x",
                            l.gfn(), l.retries(), l.cyclesPerSecond(), l.firstToken(), l.lastToken()),
                    l.timeNs(), l.vcpu(), l.gfn(), null, l.retries(), l.cyclesPerSecond(), l.firstToken(),
                    l.lastToken());
            case Outcome.NoProgress n -> new RunResult.OutcomeView(n.kind(), String.format(
                    "no progress at t=%s s: %,d steps at one simulated instant without time advancing "
                            + "(a loop that takes no simulated time)", seconds(n.timeNs()),
                    dev.apfsim.engine.Simulator.MAX_STEPS_PER_INSTANT), n.timeNs(), null, null, null, null, null,
                    null, null);
            case Outcome.Interrupted i -> new RunResult.OutcomeView(i.kind(), String.format(
                    "interrupted at simulated t=%s s, %,d events", seconds(i.timeNs()), i.events()), i.timeNs(),
                    null, null, null, null, null, null, null);
        };
    }
}
