package dev.apfsim.sim;

import dev.apfsim.arch.CpuState;
import dev.apfsim.arch.InterruptController;
import dev.apfsim.arch.arm64.Arm64CpuState;
import dev.apfsim.arch.s390.S390CpuState;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.x86.X86CpuState;
import dev.apfsim.check.Invariant;
import dev.apfsim.check.ModelChecks;
import dev.apfsim.check.Monitor;
import dev.apfsim.check.SleeperCheck;
import dev.apfsim.check.ControlledChoices;
import dev.apfsim.engine.Choices;
import dev.apfsim.engine.Simulator;
import dev.apfsim.guest.GuestCpu;
import dev.apfsim.guest.arm64.Arm64Entry;
import dev.apfsim.guest.s390.PfaultList;
import dev.apfsim.guest.s390.S390Entry;
import dev.apfsim.guest.x86.X86Entry;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.guest.GuestObserver;
import dev.apfsim.guest.Program;
import dev.apfsim.guest.Task;
import dev.apfsim.host.HostArch;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.kvm.KvmVcpu;
import dev.apfsim.kvm.VmObserver;
import dev.apfsim.kvm.arm64.Arm64Injection;
import dev.apfsim.kvm.arm64.Arm64Vcpu;
import dev.apfsim.kvm.s390.S390Flic;
import dev.apfsim.kvm.s390.S390Vcpu;
import dev.apfsim.kvm.x86.X86Vcpu;
import dev.apfsim.perturb.Perturbation;
import dev.apfsim.memory.BackingDevice;
import dev.apfsim.memory.GuestRam;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.scenario.MemoryRegion;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.trace.TraceSink;
import dev.apfsim.trace.Tracer;
import dev.apfsim.workload.ScriptProgram;
import dev.apfsim.workload.StatisticalProgram;
import dev.apfsim.workload.TaskSpec;

import java.util.ArrayList;
import java.util.List;

/** One VM on one host, built from a scenario: wires memory, vCPUs, the guest kernel and its tasks, and runs. */
public final class Machine implements VmObserver, GuestObserver {
    private final Scenario scenario;
    private final Simulator sim;
    private final Tracer tracer = new Tracer();
    private final Metrics metrics;
    private final HostMemory memory;
    private final BackingDevice swap;
    private final BackingDevice remote;
    private final GuestKernel guest;
    private final List<KvmVcpu> vcpus = new ArrayList<>();
    /** Each vCPU's interrupt line into its interrupt controller (LAPIC, vGIC, s390 interrupt queue). */
    private final List<java.util.function.IntConsumer> irqLines = new ArrayList<>();
    private final List<X86Vcpu> x86 = new ArrayList<>();
    private final List<Arm64Vcpu> arm64 = new ArrayList<>();
    private final List<S390Vcpu> s390 = new ArrayList<>();
    private final PfaultList pfaultList;
    private final LivelockDetector livelock;
    private final GuestRam ram;
    private Outcome outcome;
    private final Monitor monitor;
    private final SleeperCheck sleeperCheck;
    private final dev.apfsim.check.GfnHashCheck gfnHashCheck;
    private boolean started;
    private java.util.function.Consumer<Sample> sampler;
    /** A run goes in this many slices; checks run between them (outside the event queue). */
    public static final int SLICES = 1000;
    private int sampleEvery = 1;

    public Machine(Scenario s) {
        this(s, null);
    }

    /**
     * A machine whose nondeterministic decisions {@code choices} takes (null: the scenario's own values, or the
     * decisions its {@code check} section records, as a reproducer does).
     */
    public Machine(Scenario s, Choices choices) {
        this.scenario = s;
        this.sim = new Simulator(s.seed());
        if (choices == null && s.check().controlled()) {
            choices = replay(s);
        }
        if (choices != null) {
            sim.setChoices(choices);
        }
        this.metrics = new Metrics(s.vcpus());
        long frames = s.memoryBytes() >>> 12;
        this.memory = new HostMemory(sim, frames, s.hostLimitBytes() >>> 12, s.failures(), s.kvm().costs().sigbusNs());
        this.swap = new BackingDevice("swap", s.swap().latency(), s.swap().queueDepth(), sim, tracer, memory::pageRead);
        this.remote = new BackingDevice("remote", s.remote().latency(), s.remote().queueDepth(), sim, tracer,
                memory::pageRead);
        memory.setDevices(swap, remote);
        for (MemoryRegion r : s.regions()) {
            memory.initRange(r.start() >>> 12, r.size() >>> 12, switch (r.state()) {
                case UNTOUCHED -> HostMemory.UNTOUCHED;
                case RESIDENT -> HostMemory.RESIDENT;
                case SWAPPED -> HostMemory.SWAPPED;
                case REMOTE -> HostMemory.REMOTE;
            });
        }
        this.ram = new GuestRam(s.memoryBytes());
        ram.reportTo(sim);
        this.guest = new GuestKernel(sim, s.guest(), metrics, tracer, ram, memory::accessMapped, this);
        this.livelock = new LivelockDetector(s.livelockRetries());
        this.monitor = new Monitor(sim, tracer);
        KvmConfig host = s.kvm();
        S390Flic flic = new S390Flic(sim);
        dev.apfsim.kvm.HostCpus hostCpus = new dev.apfsim.kvm.HostCpus(sim, host.hostCpus(), s.vcpus());
        this.pfaultList = new PfaultList(sim); // the s390 guest's pfault_list, shared by its CPUs
        for (int i = 0; i < s.vcpus(); i++) {
            KvmVcpu v = new KvmVcpu(i, sim, host.costs(), host.asyncPf(), host.arch() == HostArch.S390, metrics, tracer, memory, this,
                    hostCpus);
            v.setFaultListener(livelock);
            vcpus.add(v);
            switch (host.arch()) {
                case X86 -> {
                    X86Vcpu x = new X86Vcpu(v, host.x86(), memory, ram, new X86CpuState());
                    x86.add(x);
                    irqLines.add(x::apicSetIrq);
                    x.attachGuest(guest.addCpu(platform(i, x.cpu, x.lapic), X86Entry::new));
                }
                case ARM64 -> {
                    Arm64Vcpu a = new Arm64Vcpu(v, host.arm64(), memory, ram, new Arm64CpuState());
                    arm64.add(a);
                    irqLines.add(a::vgicInjectIrq);
                    a.attachGuest(guest.addCpu(platform(i, a.cpu, a.vgic), Arm64Entry::new));
                }
                case S390 -> {
                    S390Vcpu z = new S390Vcpu(v, flic, memory, ram, new S390CpuState());
                    s390.add(z);
                    irqLines.add(z::injectLocal);
                    z.attachGuest(guest.addCpu(platform(i, z.cpu, z.interrupts()), c -> new S390Entry(c, pfaultList)));
                }
            }
        }
        tracer.attachProbe(new ModelChecks(monitor, vcpus, this::guestProgress));
        this.sleeperCheck = new SleeperCheck(guest, vcpus, monitor, s.livenessBoundNs());
        this.gfnHashCheck = new dev.apfsim.check.GfnHashCheck(x86, monitor);
        if (!sim.choices().isDefault() && !s.check().perturbKinds().isEmpty() && s.check().maxPerturbations() > 0) {
            tracer.attachProbe(new PerturbationCue());
        }
        for (Perturbation p : s.check().perturbations()) {
            inject(p);
        }
        if (s.check().controlled()) {
            enableLassos(null); // a reproducer: it shows the cycle the checker found
        }
        int taskNo = 0;
        for (TaskSpec spec : s.tasks()) {
            switch (spec) {
                case TaskSpec.Statistical st -> {
                    for (int k = 0; k < st.count(); k++) {
                        String name = st.count() == 1 ? st.name() : st.name() + "-" + k;
                        int cpu = (st.cpu() + k) % s.vcpus();
                        Program p = new StatisticalProgram(st, sim.random().stream("task:" + name));
                        guest.addTask(name, cpu, p);
                        taskNo++;
                    }
                }
                case TaskSpec.Scripted sc -> {
                    guest.addTask(sc.name(), sc.cpu(), new ScriptProgram(sc.steps()), sc.startKernel(), sc.startIf());
                    taskNo++;
                }
            }
        }
    }

    private LassoDetector lassos;
    private long perturbationsFired;

    /**
     * True while the environment still changes by the clock alone (a failure rule starts or ends later): a cycle
     * of the abstract state then may end by itself, so it is not a livelock.
     */
    public boolean timeDependent() {
        long now = sim.now();
        for (dev.apfsim.memory.FailureRule f : scenario.failures()) {
            if (f.fromNs() > now || (f.untilNs() != Long.MAX_VALUE && f.untilNs() > now)) {
                return true;
            }
        }
        return false;
    }

    /** Detects livelocks as lassos of the abstract state (once); {@code states} collects the states seen. */
    public LassoDetector enableLassos(java.util.Set<Long> states) {
        if (lassos == null) {
            lassos = new LassoDetector(this, states);
            tracer.attach(lassos);
        } else if (states != null) {
            lassos.collectStates(states);
        }
        return lassos;
    }

    /** The decisions a reproducer records: its choice sequence, then (legacy) a seeded order of simultaneous events. */
    private static Choices replay(Scenario s) {
        long seed = s.check().scheduleSeed();
        ControlledChoices.Picker rest = ControlledChoices.DEFAULTS;
        if (seed != 0) {
            java.util.SplittableRandom order = new java.util.SplittableRandom(seed);
            rest = (p, n, ids, step) -> p == Choices.Point.EVENT_ORDER ? order.nextInt(n) : 0;
        }
        return new ControlledChoices(s.check().choices(), s.check().costLevels(), rest);
    }

    private void inject(Perturbation p) {
        if (p.cpu() >= scenario.vcpus()) {
            return;
        }
        sim.at(p.timeNs(), (code, arg) -> {
            perturbationsFired++;
            if (p.kind() == Perturbation.Kind.MIGRATE) {
                vcpus.get(p.cpu()).migrate(); // a VMM action, not a guest one
            } else if (p.kind() == Perturbation.Kind.IRQ_STORM) {
                new IrqStorm(p).onEvent(0, 0); // device interrupts from the host side
            } else if (p.kind() == Perturbation.Kind.NMI) {
                if (p.cpu() < x86Vcpus().size()) {
                    x86Vcpus().get(p.cpu()).injectNmi(); // x86 only: the other hosts have no NMI
                }
            } else {
                guest.cpu(p.cpu()).queuePerturbation(p);
                irqLines.get(p.cpu()).accept(Perturbation.VECTOR);
            }
        }, 0, 0);
    }

    /**
     * When a perturbation happens, as a choice point: each async PF set-up is a cue after which the checker may
     * inject one of the scenario's perturbation kinds on that vCPU, 1 µs to 16 ms later, for 10 µs to 1.3 ms — the
     * hot spots of the run itself (a migration before the fault reaches the guest, an IRQ-off window over its
     * completion), at most {@code max_perturbations} per run.
     */
    private final class PerturbationCue implements dev.apfsim.trace.ProbeListener {
        private int injected;

        @Override
        public void probe(dev.apfsim.trace.Probe p) {
            if (!(p instanceof dev.apfsim.trace.Probe.AsyncPfSetup a) || injected >= scenario.check().maxPerturbations()) {
                return;
            }
            sim.touch(dev.apfsim.engine.Access.PERTURBATIONS); // one budget and one cue order for every vCPU
            List<Perturbation.Kind> kinds = scenario.check().perturbKinds();
            Choices c = sim.choices();
            int k = c.pick(Choices.Point.PERTURBATION, kinds.size() + 1, null);
            if (k == 0) {
                return;
            }
            injected++;
            long delay = 1_000L << (2 * c.pick(Choices.Point.PERTURBATION_DELAY, 8, null));
            long duration = 10_000L << c.pick(Choices.Point.PERTURBATION_DELAY, 8, null);
            inject(new Perturbation(sim.now() + delay, a.vcpu(), kinds.get(k - 1), duration));
        }
    }

    /**
     * An {@code irq-storm} perturbation: a device interrupt on the perturbed vCPU every 1-4 µs until the end of
     * its duration, the gaps drawn from a stream seeded by the perturbation itself (so a replay is identical).
     */
    private final class IrqStorm implements dev.apfsim.engine.EventHandler {
        private final Perturbation p;
        private final java.util.SplittableRandom gaps;

        IrqStorm(Perturbation p) {
            this.p = p;
            this.gaps = new java.util.SplittableRandom(p.timeNs() * 0x9E3779B97F4A7C15L + p.cpu());
        }

        @Override
        public void onEvent(int code, long arg) {
            irqLines.get(p.cpu()).accept(Perturbation.DEVICE_VECTOR);
            long next = sim.now() + 1_000 + gaps.nextLong(3_000);
            if (next < p.timeNs() + p.durationNs()) {
                sim.at(next, this, 0, 0);
            }
        }
    }

    /** What guest CPU {@code i} has around it: its registers, its interrupt controller, the IPI and timer lines. */
    private GuestCpu.Platform platform(int i, CpuState state, InterruptController ic) {
        return new GuestCpu.Platform() {
            public CpuState state() {
                return state;
            }

            public InterruptController interruptController() {
                return ic;
            }

            public void sendIpi(int cpu, int vector) {
                irqLines.get(cpu).accept(vector);
            }

            public void timerInterrupt() {
                irqLines.get(i).accept(scenario.guest().timerVector());
            }

            public int timerVector() {
                return scenario.guest().timerVector();
            }

            public int rescheduleVector() {
                return ApfMsr.RESCHEDULE_VECTOR;
            }

            public boolean offersPfVmexit() {
                return scenario.kvm().cpuidAsyncPfVmexit();
            }

            public boolean offersAsyncPfInt() {
                return scenario.kvm().cpuidAsyncPfInt();
            }

            public boolean offersAsyncPf() {
                return scenario.kvm().cpuidAsyncPf();
            }

            public boolean sdeiAsyncPf() {
                return scenario.kvm().arch() == HostArch.ARM64
                        && scenario.kvm().arm64Injection() == Arm64Injection.SDEI;
            }
        };
    }

    public void attach(TraceSink sink) {
        if (sink instanceof dev.apfsim.trace.LineWriter w) {
            w.placeBy(this::hostCpuOf); // the ftrace CPU column of vCPU-thread lines
        }
        tracer.attach(sink);
    }

    /** The host CPU vCPU {@code vcpu}'s thread runs on now (or last ran on); {@code vcpu} itself if out of range. */
    public int hostCpuOf(int vcpu) {
        return vcpu >= 0 && vcpu < vcpus.size() ? vcpus.get(vcpu).hostCpu() : Math.max(vcpu, 0);
    }

    /**
     * Receives about {@code samples} {@link Sample}s over the run, taken between the run's {@link #SLICES}
     * slices, so sampling never changes how the run goes.
     */
    public void setSampler(java.util.function.Consumer<Sample> sampler, int samples) {
        this.sampler = sampler;
        this.sampleEvery = Math.max(1, SLICES / Math.max(1, samples));
    }

    public Scenario scenario() {
        return scenario;
    }

    public Simulator simulator() {
        return sim;
    }

    /** The generic vCPUs, one per {@code vm.vcpus}. */
    public List<KvmVcpu> vcpus() {
        return vcpus;
    }

    /** The x86 halves of the vCPUs (empty unless {@code host.arch} is x86). */
    public List<X86Vcpu> x86Vcpus() {
        return x86;
    }

    /** The s390 halves of the vCPUs (empty unless {@code host.arch} is s390). */
    public List<S390Vcpu> s390Vcpus() {
        return s390;
    }

    /** The s390 guest's {@code thread.pfault_wait} of {@code t} (0 on the other hosts). */
    public int pfaultWait(dev.apfsim.guest.Task t) {
        return pfaultList.pfaultWait(t);
    }

    /** The arm64 halves of the vCPUs (empty unless {@code host.arch} is arm64). */
    public List<Arm64Vcpu> arm64Vcpus() {
        return arm64;
    }

    public GuestKernel guest() {
        return guest;
    }

    public HostMemory memory() {
        return memory;
    }

    public Metrics metrics() {
        return metrics;
    }

    /** The guest-physical words host and guest share (the APF control areas). */
    public GuestRam ram() {
        return ram;
    }

    /** Starts the vCPU threads at the current time (once); tests may then step the simulator themselves. */
    public void start() {
        if (!started) {
            started = true;
            for (KvmVcpu v : vcpus) {
                v.start();
            }
        }
    }

    @Override
    public void vmStopped(long time, int vcpu, String reason, int errno, long gfn) {
        if (outcome == null) {
            outcome = new Outcome.VmStopped(time, vcpu, reason, errno, gfn);
        }
        sim.stop();
    }

    /**
     * A count that grows whenever the run makes protocol progress: a faulting access completes, a script step is
     * fetched, a task ends. A livelock is a cycle of states with no growth here.
     */
    public long progress() {
        // an injected event counts too: a cycle that needed one is not one the protocol repeats by itself
        long p = livelock.mappedCount() + perturbationsFired + (outcome instanceof Outcome.VmStopped ? 1 : 0);
        for (Task t : guest.tasks()) {
            p += Math.max(0, t.programPosition());
            if (t.state() == Task.State.DONE || t.state() == Task.State.KILLED) {
                p++;
            }
        }
        return p;
    }

    /** What {@link #progress()} counts of one task, with what counts for every task (injected events, a stop). */
    public long taskProgress(Task t) {
        return ownProgress(t) + perturbationsFired + (outcome instanceof Outcome.VmStopped ? 1 : 0);
    }

    /** What {@link #progress()} counts of the tasks of guest CPU {@code cpu} (tasks are pinned to their CPU). */
    private long guestProgress(int cpu) {
        long p = 0;
        for (Task t : guest.tasks()) {
            if (t.cpu == cpu) {
                p += ownProgress(t);
            }
        }
        return p;
    }

    /** A task's own progress: script steps fetched, accesses done, and its end. */
    private static long ownProgress(Task t) {
        return Math.max(0, t.programPosition()) + t.ops()
                + (t.state() == Task.State.DONE || t.state() == Task.State.KILLED ? 1 : 0);
    }

    public Monitor monitor() {
        return monitor;
    }

    @Override
    public void taskKilled(long time, Task task, String signal) {
        if (metrics.firstTaskKilledNs < 0) {
            metrics.firstTaskKilledNs = time;
        }
    }

    @Override
    public void guestPanic(long time, int cpu, String message) {
        monitor.violation(time, cpu, Invariant.GUEST_PANIC, message);
        if (outcome == null) {
            outcome = new Outcome.GuestPanic(time, cpu, message);
        }
        sim.stop();
    }

    @SuppressWarnings("unchecked")
    private Sample sample() {
        List<Task> tasks = guest.tasks();
        long[] ops = new long[tasks.size()];
        for (int i = 0; i < ops.length; i++) {
            ops[i] = tasks.get(i).ops();
        }
        java.util.Map<String, Long>[] times = new java.util.Map[metrics.vcpuTime.length];
        for (int i = 0; i < times.length; i++) {
            times[i] = metrics.vcpuTime[i].asMap();
        }
        return new Sample(sim.now(), ops, metrics.counters.asMap(), times);
    }

    /** Runs to the scenario's duration (or an earlier end) and reports. */
    public RunResult run() {
        long wallStart = System.nanoTime(); // measures the simulator, never read by the model
        start();
        long end = scenario.durationNs();
        long slice = Math.max(1, end / SLICES);
        // run in slices so a livelock ends the run as soon as it is recognised (resuming after a test's steps)
        int sliceNo = 0;
        for (long t = Math.min(end, sim.now() + slice); !sim.stopped(); t = Math.min(end, t + slice)) {
            boolean more = sim.run(t);
            sleeperCheck.check(sim.now());
            gfnHashCheck.check();
            if (sampler != null && (++sliceNo % sampleEvery == 0 || !more || t >= end)) {
                sampler.accept(sample());
            }
            if (livelock.found() != null) {
                Outcome.LivelockSuspected l = livelock.found();
                monitor.violation(l.vcpu(), Invariant.LIVELOCK, String.format(
                        "gfn %#x faulted asynchronously %d times without being mapped (tokens %#x..%#x)",
                        l.gfn(), l.retries(), l.firstToken(), l.lastToken()));
                if (outcome == null) {
                    outcome = l;
                }
                break;
            }
            if (!more || t >= end) {
                break;
            }
        }
        long now = sim.now();
        if (sim.stalledAt() >= 0) {
            monitor.violation(sim.stalledAt(), 0, Invariant.NO_PROGRESS, Simulator.MAX_STEPS_PER_INSTANT
                    + " steps without simulated time advancing");
        }
        if (outcome == null && sim.stalledAt() >= 0) {
            outcome = new Outcome.NoProgress(sim.stalledAt(), sim.eventCount());
        } else if (outcome == null && (sim.interrupted() || sim.stepLimited())) {
            outcome = new Outcome.Interrupted(now, sim.eventCount());
        }
        for (KvmVcpu v : vcpus) {
            v.finish(now);
        }
        tracer.flush();
        long wall = System.nanoTime() - wallStart;
        return ResultBuilder.build(this, scenario, outcome == null ? new Outcome.Ok() : outcome, now, wall, tracer,
                swap, remote);
    }
}
