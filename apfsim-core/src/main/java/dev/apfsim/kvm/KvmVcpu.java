package dev.apfsim.kvm;

import dev.apfsim.arch.GuestCode;
import dev.apfsim.arch.GuestExit;
import dev.apfsim.engine.Choices;
import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.metrics.VcpuTime;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;

import java.util.ArrayList;
import java.util.List;

/**
 * One vCPU thread, architecture-neutral ({@code virt/kvm/kvm_main.c}): {@code kvm_vcpu_ioctl(KVM_RUN)} as events —
 * the run loop, {@code kvm_vcpu_block} / {@code kvm_vcpu_wake_up} / {@code kvm_vcpu_kick}, requests, the
 * synchronous fault-in that blocks the thread, and KVM_RUN failing to userspace. Everything an architecture decides
 * goes through its {@link KvmArch}. The guest runs inline until it exits or the next event is due; everything the
 * host does costs time.
 */
public final class KvmVcpu implements EventHandler, VcpuView {
    private static final int EV_ENTER = 0;
    private static final int EV_RESUME = 1;
    private static final int EV_EXIT = 2;
    private static final int EV_KICK = 3;

    /** Where the vCPU thread is. */
    public enum RunState { IN_GUEST, IN_HOST, BLOCKED, SYNC_WAIT, STOPPED }

    public final int id;
    private final Simulator sim;
    private final HostCosts costs;
    private final boolean asyncPfEnabled;
    private final Metrics metrics;
    private final Tracer tracer;
    private final HostMemory memory;
    private final VmObserver observer;
    private final VcpuTime time;
    private final AsyncPf asyncPf;
    private KvmArch arch;
    private GuestCode guest;
    private FaultListener faults = FaultListener.NONE;

    private int requests;
    /** {@code mp_state == KVM_MP_STATE_HALTED}: the guest waits for an interrupt (HLT, WFI, enabled wait). */
    private boolean mpHalted;
    private RunState state = RunState.IN_HOST;
    private long gen;
    private GuestExit pendingExit;
    /** This vCPU's own event is running: its next step can be a continuation ({@link Simulator#continueAt}). */
    private boolean inOwnEvent;

    /**
     * @param asyncPfEnabled host-side async PF at all ({@code false}: every fault synchronous, as before 2.6.38)
     * @param asyncPfSync    {@code CONFIG_KVM_ASYNC_PF_SYNC} (s390)
     */
    public KvmVcpu(int id, Simulator sim, HostCosts costs, boolean asyncPfEnabled, boolean asyncPfSync,
                   Metrics metrics, Tracer tracer, HostMemory memory, VmObserver observer) {
        this.id = id;
        this.sim = sim;
        this.costs = costs;
        this.asyncPfEnabled = asyncPfEnabled;
        this.metrics = metrics;
        this.tracer = tracer;
        this.memory = memory;
        this.observer = observer;
        this.time = metrics.vcpuTime[id];
        this.asyncPf = new AsyncPf(id, sim, memory, tracer, metrics, costs.workerDispatchNs(), this::wakeUp,
                asyncPfSync);
    }

    /** Plugs the architecture in (before {@link #start}). */
    public void setArch(KvmArch a) {
        this.arch = a;
        asyncPf.setArch(a);
    }

    public KvmArch arch() {
        return arch;
    }

    public void attachGuest(GuestCode g) {
        this.guest = g;
    }

    public void setFaultListener(FaultListener l) {
        this.faults = l;
    }

    public FaultListener faults() {
        return faults;
    }

    // ---- what the architectures use --------------------------------------------------------------------

    public Simulator simulator() {
        return sim;
    }

    public long now() {
        return sim.now();
    }

    public HostCosts costs() {
        return costs;
    }

    /** Host-side async PF is configured at all. */
    public boolean asyncPfEnabled() {
        return asyncPfEnabled;
    }

    public Metrics metrics() {
        return metrics;
    }

    public HostMemory memory() {
        return memory;
    }

    public AsyncPf asyncPf() {
        return asyncPf;
    }

    public RunState runState() {
        return state;
    }

    public void trace(TraceEvent e) {
        tracer.emit(e);
    }

    /** True when an observer wants probes. */
    public boolean probing() {
        return tracer.probing();
    }

    /** Fires an observation point (never part of the trace). */
    public void probe(Probe p) {
        tracer.probe(p);
    }

    /** {@code kvm_make_request}. */
    public void makeRequest(int req) {
        requests |= req;
    }

    /** {@code kvm_check_request}: test and clear. */
    public boolean checkRequest(int req) {
        boolean set = (requests & req) != 0;
        requests &= ~req;
        return set;
    }

    /** {@code mp_state = KVM_MP_STATE_RUNNABLE}. */
    public void mpStateRunnable() {
        mpHalted = false;
    }

    // ---- VcpuView -------------------------------------------------------------------------------------

    @Override
    public int id() {
        return id;
    }

    @Override
    public List<Outstanding> outstanding() {
        List<Outstanding> out = new ArrayList<>();
        for (KvmAsyncPf w : asyncPf.queue()) {
            out.add(new Outstanding(w.tokenUnsigned(), w.gfn, w.completed));
        }
        return out;
    }

    @Override
    public boolean pageReadyInFlight(long token) {
        return arch.pageReadyInFlight(token);
    }

    // ---- the thread --------------------------------------------------------------------------------------

    /** Starts the vCPU thread at the current time. */
    public void start() {
        time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
        vcpuState(sim.now(), "host");
        sim.at(sim.now(), this, EV_ENTER, 0);
    }

    /** {@code kvm_vcpu_running}. */
    private boolean running() {
        return !mpHalted && arch.vcpuRunning();
    }

    /** {@code kvm_arch_vcpu_runnable}: running, or an event that makes a blocked vCPU run. */
    public boolean runnable() {
        return running() || !asyncPf.doneEmpty() || arch.vcpuHasEvents();
    }

    /** {@code kvm_vcpu_kick}: wake a blocked thread, or force an exit from the guest. */
    public void kick() {
        if (state == RunState.IN_GUEST && !sim.choices().isDefault()) {
            // the instruction boundary the interrupt is taken at: now, or the guest runs on for a while first
            int later = sim.choices().pick(Choices.Point.IRQ_BOUNDARY, IRQ_BOUNDARIES.length, null);
            if (later > 0) {
                sim.after(IRQ_BOUNDARIES[later], this, EV_KICK, gen);
                return;
            }
        }
        kickNow();
    }

    /** Guest time an interrupt may be held back at the checker's choice ({@link Choices.Point#IRQ_BOUNDARY}). */
    private static final long[] IRQ_BOUNDARIES = {0, 1_000, 20_000};

    private long cost(Choices.Cost c, long ns) {
        return sim.choices().cost(c, ns);
    }

    private void kickNow() {
        switch (state) {
            case IN_GUEST -> {
                guest.preempt(sim.now());
                gen++;
                exitStarted();
                scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()));
            }
            case BLOCKED -> wakeUp();
            default -> {
            }
        }
    }

    /** {@code kvm_vcpu_wake_up}: a blocked thread re-checks whether it can run. */
    public void wakeUp() {
        if (state == RunState.BLOCKED && runnable()) {
            time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
            vcpuState(sim.now(), "host");
            scheduleEnter(cost(Choices.Cost.HALT_WAKEUP, costs.haltWakeupNs()));
        }
    }

    /** Timeline event (apfsim_vcpu_state): guest, host, hlt, apf_halt, sync, stopped. */
    private void vcpuState(long at, String what) {
        if (tracer.timelineWanted()) {
            trace(new TraceEvent.VcpuState(at, id, what));
        }
    }

    private void exitStarted() {
        metrics.counters.inc(Counter.VM_EXITS);
        time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
        vcpuState(sim.now(), "host");
        state = RunState.IN_HOST;
    }

    /**
     * Back into the run loop after {@code delay} of host work. When this vCPU's own event asks (an exit handled, a
     * HLT, a request), the entry is the thread's next step: it runs without a queued event when nothing else is due
     * first (the host-side steps between an exit and the next entry are the vCPU thread's own; no other actor sees
     * them unless it has an event in between). A kick or wake-up from another actor stays an event of its own.
     */
    public void scheduleEnter(long delay) {
        state = RunState.IN_HOST;
        next(sim.now() + delay, EV_ENTER, gen);
    }

    private void next(long at, int code, long arg) {
        if (inOwnEvent) {
            sim.continueAt(at, this, code, arg);
        } else {
            sim.at(at, this, code, arg);
        }
    }

    @Override
    public void onEvent(int code, long arg) {
        inOwnEvent = true;
        try {
            step(code, arg);
        } finally {
            inOwnEvent = false;
        }
    }

    private void step(int code, long arg) {
        if (state == RunState.STOPPED) {
            return;
        }
        switch (code) {
            case EV_ENTER -> vcpuRun();
            case EV_RESUME -> {
                if (arg == gen && state == RunState.IN_GUEST) {
                    runGuest(sim.now());
                }
            }
            case EV_KICK -> {
                if (arg == gen) {
                    kickNow(); // the deferred interrupt, unless the guest exited meanwhile (the entry handles it)
                }
            }
            case EV_EXIT -> {
                if (arg == gen) {
                    handleExit(pendingExit);
                }
            }
            default -> throw new IllegalStateException("unknown vCPU event " + code);
        }
    }

    /** One pass of KVM_RUN's loop ({@code kvm_arch_vcpu_ioctl_run}), until the guest is entered or the thread blocks. */
    private void vcpuRun() {
        while (state != RunState.STOPPED) {
            if (running()) {
                switch (arch.vcpuEnterGuest()) {
                    case AGAIN -> {
                        continue;
                    }
                    case STOP -> {
                        return;
                    }
                    case ENTER -> {
                    }
                }
                long entry = sim.now() + cost(Choices.Cost.VM_ENTRY, costs.vmEntryNs());
                arch.injectPendingEvents(entry);
                time.finish(entry);
                vcpuState(entry, "guest");
                runGuest(entry);
                return;
            }
            // kvm_vcpu_block
            if (!runnable()) {
                probe(new Probe.HaltProgress(id));
                state = RunState.BLOCKED;
                boolean apfHalt = arch.inApfHalt();
                time.hostState(apfHalt ? TimeCategory.SYNTHETIC_HALT : TimeCategory.GUEST_IDLE, sim.now());
                vcpuState(sim.now(), apfHalt ? "apf_halt" : "hlt");
                return;
            }
            mpHalted = false;
            arch.vcpuUnhalted();
        }
    }

    private void runGuest(long from) {
        state = RunState.IN_GUEST;
        GuestExit exit = guest.run(from, sim.horizon());
        if (exit instanceof GuestExit.Continue c) {
            sim.at(c.at(), this, EV_RESUME, gen);
            return;
        }
        gen++;
        state = RunState.IN_HOST; // exiting: kicks only leave requests now
        if (exit.at() == sim.now()) {
            handleExit(exit);
        } else {
            pendingExit = exit;
            next(exit.at(), EV_EXIT, gen); // the guest ran ahead to it: usually before anything else is due
        }
    }

    private void handleExit(GuestExit exit) {
        pendingExit = null;
        exitStarted();
        switch (exit) {
            case GuestExit.Hlt h -> {
                metrics.counters.inc(Counter.HLT_EXITS);
                probe(new Probe.HaltExit(id, asyncPf.doneSize()));
                mpHalted = true; // kvm_emulate_halt / kvm_vcpu_wfi / kvm_s390_handle_wait
                scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()));
            }
            case GuestExit.IrqWindow w -> scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()));
            case GuestExit.Dead d -> stopThread();
            case GuestExit.Continue k -> throw new IllegalStateException("Continue is not an exit");
            default -> arch.handleExit(exit);
        }
    }

    /**
     * The synchronous path ({@code hva_to_pfn} without FOLL_NOWAIT): the vCPU thread blocks in GUP; no interrupt
     * reaches the guest meanwhile. {@code reason} names why the fault could not go async.
     */
    public void syncFault(long gfn, Counter reason) {
        state = RunState.SYNC_WAIT;
        long start = sim.now();
        time.hostState(TimeCategory.SYNC_BLOCKED, start);
        vcpuState(start, "sync");
        trace(new TraceEvent.SyncFault(start, id, gfn, reason.key()));
        memory.getUserPages(gfn, (g, errno) -> {
            if (state == RunState.STOPPED) {
                return;
            }
            metrics.syncFault.record(sim.now() - start);
            if (errno == HostMemory.EHWPOISON) {
                vmStop("hwpoison", errno, g);
            } else if (errno != 0) {
                vmStop("efault", errno, g); // kvm_handle_error_pfn → KVM_RUN fails with EFAULT
            } else {
                memory.map(g);
                faults.mapped(g);
                time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
                vcpuState(sim.now(), "host");
                scheduleEnter(cost(Choices.Cost.MINOR_FAULT, costs.minorFaultNs()));
            }
        });
    }

    /** KVM_RUN returns an error to the VMM, which stops the VM. */
    public void vmStop(String reason, int errno, long gfn) {
        if (errno == HostMemory.EFAULT) {
            metrics.counters.inc(Counter.EFAULT_EXITS);
        } else if (errno == HostMemory.EHWPOISON) {
            metrics.counters.inc(Counter.HWPOISON_EXITS);
        }
        trace(new TraceEvent.UserspaceExit(sim.now(), id, errno, reason));
        stopThread();
        observer.vmStopped(sim.now(), id, reason, errno, gfn);
    }

    private void stopThread() {
        state = RunState.STOPPED;
        vcpuState(sim.now(), "stopped");
        time.hostState(null, sim.now());
    }

    /** The VMM migrates this vCPU (a scripted perturbation); a stopped vCPU stays stopped. */
    public void migrate() {
        if (state != RunState.STOPPED) {
            arch.migrate();
        }
    }

    /** Closes the time accounting at the end of a run. */
    public void finish(long now) {
        if (state == RunState.IN_GUEST) {
            guest.preempt(now);
        }
        time.finish(now);
    }
}
