package dev.apfsim.sim;

import dev.apfsim.guest.Task;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.kvm.x86.X86Vcpu;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.TraceSink;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** One finished run of a scenario with every trace event it produced, and queries over them. */
public final class SimRun {
    /** Token of a wake-all page-ready. */
    public static final long WAKE_ALL = 0xffffffffL;

    public final Machine machine;
    public final RunResult result;
    public final List<TraceEvent> events;

    private SimRun(Machine machine, RunResult result, List<TraceEvent> events) {
        this.machine = machine;
        this.result = result;
        this.events = events;
    }

    public static SimRun of(Scenario s) {
        return of(s, m -> {
        }, (m, e) -> {
        });
    }

    /** Runs with {@code hook} called synchronously on every event, so it can inspect (or poke) the machine. */
    public static SimRun of(Scenario s, BiConsumer<Machine, TraceEvent> hook) {
        return of(s, m -> {
        }, hook);
    }

    /** {@code setup} runs on the built machine before it starts. */
    public static SimRun of(Scenario s, Consumer<Machine> setup, BiConsumer<Machine, TraceEvent> hook) {
        Machine m = new Machine(s);
        List<TraceEvent> events = new ArrayList<>();
        m.attach(TraceSink.everything(e -> {
            events.add(e);
            hook.accept(m, e);
        }));
        setup.accept(m);
        RunResult r = m.run();
        return new SimRun(m, r, events);
    }

    public X86Vcpu vcpu(int i) {
        return machine.x86Vcpus().get(i);
    }

    public Task task(int i) {
        return machine.guest().tasks().get(i);
    }

    public String outcome() {
        return result.outcome().kind();
    }

    public long counter(String key) {
        return result.counter(key);
    }

    public <T extends TraceEvent> List<T> all(Class<T> type) {
        List<T> out = new ArrayList<>();
        for (TraceEvent e : events) {
            if (type.isInstance(e)) {
                out.add(type.cast(e));
            }
        }
        return out;
    }

    public <T extends TraceEvent> T first(Class<T> type) {
        List<T> l = all(type);
        return l.isEmpty() ? null : l.getFirst();
    }

    public List<TraceEvent> where(Predicate<TraceEvent> p) {
        return events.stream().filter(p).toList();
    }

    public List<String> names() {
        return events.stream().map(TraceEvent::name).toList();
    }

    /** Names of the events matching {@code p}, in order. */
    public List<String> names(Predicate<TraceEvent> p) {
        return events.stream().filter(p).map(TraceEvent::name).toList();
    }

    /** Kernel-format lines of the whole trace. */
    public List<String> lines() {
        return events.stream().map(FtraceFormat::line).toList();
    }

    /** Tokens of the kvm_async_pf_not_present events, in order. */
    public List<Long> notPresentTokens() {
        return all(TraceEvent.NotPresent.class).stream().map(TraceEvent.NotPresent::token).toList();
    }

    /** Tokens of the kvm_async_pf_ready events, in order. */
    public List<Long> readyTokens() {
        return all(TraceEvent.Ready.class).stream().map(TraceEvent.Ready::token).toList();
    }

    /** Page-ready interrupts accepted by a LAPIC (vector 0xf3). */
    public List<TraceEvent.ApicAcceptIrq> pageReadyIrqs() {
        return all(TraceEvent.ApicAcceptIrq.class).stream()
                .filter(i -> i.vector() == ApfMsr.HYPERVISOR_CALLBACK_VECTOR).toList();
    }

    public List<TraceEvent.Msr> msrs(int msr) {
        return all(TraceEvent.Msr.class).stream().filter(m -> m.msr() == msr).toList();
    }

    /** Index of the first event at or after {@code from} matching {@code p}, or -1. */
    public int indexOf(int from, Predicate<TraceEvent> p) {
        for (int i = Math.max(0, from); i < events.size(); i++) {
            if (p.test(events.get(i))) {
                return i;
            }
        }
        return -1;
    }

    public int indexOf(Predicate<TraceEvent> p) {
        return indexOf(0, p);
    }

    /** The ftrace text of the run, for failure messages. */
    public String dump() {
        StringBuilder sb = new StringBuilder();
        for (String l : lines()) {
            sb.append(l).append('\n');
        }
        return sb.toString();
    }

    public static boolean isKvm(TraceEvent e) {
        return e.name().startsWith("kvm_");
    }

    /** The KVM tracepoints of async PF itself (no MSR, IRQ or exception companions). */
    public static boolean isApfTracepoint(TraceEvent e) {
        return e instanceof TraceEvent.TryAsyncGetPage || e instanceof TraceEvent.RepeatedFault
                || e instanceof TraceEvent.NotPresent || e instanceof TraceEvent.Ready
                || e instanceof TraceEvent.Completed;
    }
}
