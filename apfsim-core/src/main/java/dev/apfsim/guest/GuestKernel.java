package dev.apfsim.guest;

import dev.apfsim.engine.Simulator;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.trace.Tracer;

import java.util.ArrayList;
import java.util.List;

/**
 * The Linux-like guest kernel, the same on every architecture: its CPUs, its tasks and the global async PF sleeper
 * table. Each CPU's architecture entry code is given when the CPU is added.
 */
public final class GuestKernel {
    /** GPA of CPU 0's {@code apf_reason} area; CPU n's is 64 bytes further per CPU. */
    public static final long APF_AREA_BASE = 0x9000;

    final Simulator sim;
    final GuestConfig config;
    /** The kernel's fixed-cost steps, made once and shared (nothing resets them; a handler frame runs one per entry). */
    final Action.Compute pfHandlerStep;
    final Action.Compute irqHandlerStep;
    final Action.Compute timerHandlerStep;
    final Action.Compute contextSwitchStep;
    final Metrics metrics;
    final Tracer tracer;
    final GuestRam ram;
    /** Whether an access exits: the hardware's second-stage translation. */
    final dev.apfsim.arch.SecondStage memory;
    final GuestObserver observer;
    final SleeperTable sleepers;
    final List<GuestCpu> cpus = new ArrayList<>();
    final List<Task> tasks = new ArrayList<>();
    boolean panicked;
    /** Names each fault handler entry for the probes that follow it. */
    private long faults;

    public GuestKernel(Simulator sim, GuestConfig config, Metrics metrics, Tracer tracer, GuestRam ram,
                       dev.apfsim.arch.SecondStage memory, GuestObserver observer) {
        this.sim = sim;
        this.sleepers = new SleeperTable(sim);
        this.config = config;
        this.pfHandlerStep = new Action.Compute(config.pfHandlerNs());
        this.irqHandlerStep = new Action.Compute(config.irqHandlerNs());
        this.timerHandlerStep = new Action.Compute(config.timerHandlerNs());
        this.contextSwitchStep = new Action.Compute(config.contextSwitchNs());
        this.metrics = metrics;
        this.tracer = tracer;
        this.ram = ram;
        this.memory = memory;
        this.observer = observer;
    }

    /** A fault handler is entered on {@code cpu}: names it for the checker's probes. */
    long faultEntered(long now, int cpu) {
        long f = ++faults;
        if (tracer.probing()) {
            tracer.probe(new dev.apfsim.trace.Probe.GuestFaultEntered(now, cpu, f));
        }
        return f;
    }

    /** The handler of {@code fault} read its APF reason {@code flags}. */
    void faultClassified(long now, int cpu, long fault, dev.apfsim.trace.Probe.Site site, int flags, long address) {
        if (tracer.probing()) {
            tracer.probe(new dev.apfsim.trace.Probe.GuestFaultClassified(now, cpu, fault, site, flags, address));
        }
    }

    /** Adds a CPU whose architecture entry code {@code arch} builds; returns that entry (what the host holds). */
    public <E extends ArchEntry> E addCpu(GuestCpu.Platform platform, java.util.function.Function<GuestCpu, E> arch) {
        @SuppressWarnings("unchecked")
        java.util.function.Function<GuestCpu, ? extends ArchEntry> f = arch;
        GuestCpu c = new GuestCpu(this, cpus.size(), platform, f);
        cpus.add(c);
        @SuppressWarnings("unchecked")
        E e = (E) c.entry();
        return e;
    }

    public Task addTask(String name, int cpu, Program program) {
        return addTask(name, cpu, program, false, true);
    }

    /** A task whose first instruction runs at CPL0 ({@code kernelMode}) or CPL3, with IF as given. */
    public Task addTask(String name, int cpu, Program program, boolean kernelMode, boolean interruptFlag) {
        Task t = new Task(tasks.size(), name, cpu, program);
        t.kernelMode = kernelMode;
        t.interruptFlag = interruptFlag;
        tasks.add(t);
        cpus.get(cpu).scheduler.enqueueNew(t, sim.now());
        return t;
    }

    public List<Task> tasks() {
        return tasks;
    }

    /** {@code find_task_by_pid_ns}. */
    Task taskByPid(long pid) {
        return pid >= 1 && pid <= tasks.size() ? tasks.get((int) (pid - 1)) : null;
    }

    public GuestCpu cpu(int i) {
        return cpus.get(i);
    }

    public int cpuCount() {
        return cpus.size();
    }

    public SleeperTable sleepers() {
        return sleepers;
    }

    public boolean panicked() {
        return panicked;
    }

    void panic(long now, int cpu, String message) {
        if (!panicked) {
            panicked = true;
            tracer.emit(new dev.apfsim.trace.TraceEvent.GuestPanic(now, cpu, message));
            observer.guestPanic(now, cpu, message);
        }
    }

    /** Makes a sleeping task runnable on its own CPU, kicking that CPU if it is another one. */
    void wake(Task t, long now, int fromCpu) {
        if (t.state == Task.State.APF_SLEEP || t.state == Task.State.SLEEP) {
            tracer.emit(new dev.apfsim.trace.TraceEvent.GuestWakeup(now, t.cpu, t.id,
                    t.state == Task.State.APF_SLEEP));
            cpus.get(t.cpu).scheduler.wake(t, now);
            if (t.cpu != fromCpu) {
                cpus.get(t.cpu).platform.sendIpi(t.cpu, cpus.get(t.cpu).platform.rescheduleVector());
            }
        }
    }
}
