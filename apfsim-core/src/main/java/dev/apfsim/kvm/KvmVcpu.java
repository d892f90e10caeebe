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
public final class KvmVcpu implements EventHandler, VcpuView, HostCpus.HostThread {
    private static final int EV_ENTER = 0;
    private static final int EV_RESUME = 1;
    private static final int EV_EXIT = 2;
    private static final int EV_KICK = 3;

    /** Where the vCPU thread is; PREEMPTED: runnable, waiting for its host CPU. */
    public enum RunState { IN_GUEST, IN_HOST, BLOCKED, SYNC_WAIT, PREEMPTED, STOPPED }

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
    private final HostCpus cpus;
    /** Fired at every exit (the checker counts them: exit-storm). */
    private final Probe.VmExit exitProbe;
    /** The host CPU the thread runs on, or last ran on. */
    private int hostCpu;
    /** While PREEMPTED: host work still owed when the CPU comes back (ns). */
    private long owed;
    /** When the pending KVM_RUN loop pass is due (-1: none), and its generation (a preempted pass is dropped). */
    private long enterAt = -1;
    private long enterGen;
    /** This loop pass follows a {@code cond_resched} / {@code xfer_to_guest_mode_handle_work} that gave the CPU away. */
    private boolean afterResched;
    /** This vCPU's own event is running: its next step can be a continuation ({@link Simulator#continueAt}). */
    private boolean inOwnEvent;
    /**
     * The guest is being run ahead ({@link #runGuest}): its own steps can reach this vCPU again through other actors
     * (a wake-up IPI preempts a vCPU thread whose host CPU then runs a kworker, whose PFAULT_DONE kicks this vCPU).
     */
    private boolean inGuestRun;
    /** The thread sleeps in a prefault's GUP ({@link #prefaultGup}) that has not returned yet. */
    private boolean prefaultSleeping;
    /** The rest of the exit handler whose completion check put the thread into a prefault's GUP, or null. */
    private Runnable afterPrefault;
    /** {@code kvm_send_hwpoison_signal} of a prefault: the gfn whose SIGBUS is pending on the thread, or -1. */
    private long hwpoisonSignal = -1;
    /**
     * The VMM kicked the thread to save the vCPU (a migration) while it was inside a GUP or a completion check: the
     * migration is done when the thread is back at the top of its run loop, where KVM_RUN returns to the VMM.
     */
    private boolean migrationPending;
    /** Counts the thread's blocking GUPs: a GUP given up on a signal ignores its page's later arrival. */
    private int gupWait;
    /** The current blocking GUP sleeps on device I/O (not a fast failure or a page already in). */
    private boolean gupSleeps;

    /**
     * @param asyncPfEnabled host-side async PF at all ({@code false}: every fault synchronous, as before 2.6.38)
     * @param asyncPfSync    {@code CONFIG_KVM_ASYNC_PF_SYNC} (s390)
     * @param cpus           the host CPUs this thread and the kworkers share
     */
    public KvmVcpu(int id, Simulator sim, HostCosts costs, boolean asyncPfEnabled, boolean asyncPfSync,
                   Metrics metrics, Tracer tracer, HostMemory memory, VmObserver observer, HostCpus cpus) {
        this.cpus = cpus;
        this.hostCpu = cpus.home(id);
        this.id = id;
        this.exitProbe = new Probe.VmExit(id);
        this.sim = sim;
        this.costs = costs;
        this.asyncPfEnabled = asyncPfEnabled;
        this.metrics = metrics;
        this.tracer = tracer;
        this.memory = memory;
        this.observer = observer;
        this.time = metrics.vcpuTime[id];
        this.asyncPf = new AsyncPf(id, sim, memory, tracer, metrics, costs.workerDispatchNs(), this::wakeUp,
                asyncPfSync, cpus, () -> hostCpu, this::prefaultGup);
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

    /**
     * True in the first pass of the run loop after the thread was preempted: it comes back from the scheduler at the
     * bottom of the loop and goes straight to {@code vcpu_enter_guest} (what ≤5.7 polled before that did not run).
     */
    public boolean afterResched() {
        return afterResched;
    }

    /** The host CPU the thread runs on (or last ran on). */
    public int hostCpu() {
        return hostCpu;
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

    /** {@link #outstanding} without building it: the checker asks this between every run slice. */
    @Override
    public boolean hasItem(long token, boolean inService) {
        for (KvmAsyncPf w : asyncPf.queue()) {
            if (w.tokenUnsigned() == token && (!inService || !w.completed)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean pageReadyInFlight(long token) {
        return arch.pageReadyInFlight(token);
    }

    // ---- the thread --------------------------------------------------------------------------------------

    /** Starts the vCPU thread at the current time. */
    public void start() {
        state = RunState.PREEMPTED;
        owed = 0;
        time.hostState(TimeCategory.HOST_PREEMPTED, sim.now());
        if (!cpus.wake(this, hostCpu)) {
            vcpuState(sim.now(), "preempted");
        }
    }

    /** The host scheduler gives the thread its CPU ({@link HostCpus}): it carries on where it stopped. */
    @Override
    public void cpuGranted(int cpu) {
        hostCpu = cpu;
        if (state == RunState.STOPPED) {
            cpus.release(this, cpu);
            return;
        }
        time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
        vcpuState(sim.now(), "host");
        scheduleEnter(owed);
    }

    /**
     * Another thread wants this CPU: in the guest that is a VM exit (the host interrupt), in host work between exit
     * and entry the thread is preempted where it is (a woken kworker's wake-up preemption) and owes the rest.
     */
    @Override
    public void reschedule() {
        if (state == RunState.IN_GUEST) {
            kick();
        } else if (state == RunState.IN_HOST && enterAt >= 0) {
            preempted(enterAt - sim.now());
        }
    }

    /** Off the CPU with {@code rest} of host work still to do when it comes back. */
    private void preempted(long rest) {
        state = RunState.PREEMPTED;
        owed = rest;
        afterResched = true;
        enterAt = -1;
        enterGen++;
        time.hostState(TimeCategory.HOST_PREEMPTED, sim.now());
        vcpuState(sim.now(), "preempted");
        cpus.yield(this, hostCpu);
    }

    /** The thread sleeps or ends: its CPU goes to the next thread. */
    private void releaseCpu() {
        cpus.release(this, hostCpu);
    }

    /** {@code kvm_vcpu_running}. */
    private boolean running() {
        return !mpHalted && arch.vcpuRunning();
    }

    /** {@code kvm_arch_vcpu_runnable}: running, or an event that makes a blocked vCPU run. */
    public boolean runnable() {
        return running() || !asyncPf.doneEmpty() || arch.vcpuHasEvents();
    }

    /**
     * {@code kvm_vcpu_kick}: wake a blocked thread, or force an exit from the guest. The kick's IPI lands at an
     * instruction boundary of the guest; which one is the checker's {@link Choices.Point#IRQ_BOUNDARY}: 0, now (a
     * boundary inside the compute step the guest is in); k = 1..3, the k-th next boundary of the guest's own
     * execution, the end of that compute step being the first (then the instruction after it, ...); 4 and 5, a
     * boundary {@link #KICK_INSIDE_NS} or {@link #KICK_HOLD_NS} further inside a compute step (a step of many
     * instructions has boundaries everywhere: the few-instruction entry/exit windows of a handler are among them).
     * Never held past {@link #KICK_HOLD_NS}: an IPI does not take longer to arrive. A guest that exits before the chosen boundary (a fault, an MSR, HLT) needs
     * no kick: the entry injects what is pending ({@code vcpu_enter_guest} → {@code kvm_check_and_inject_events}).
     */
    public void kick() {
        sim.touch(dev.apfsim.engine.Access.VCPU | id); // another actor's step reaches this vCPU
        if (inGuestRun) {
            // a kick from inside this guest's own run is an event of its own after it: if the run ends in an exit,
            // the entry after it injects what is pending; otherwise the kick lands then
            sim.at(sim.now(), this, EV_KICK, gen);
            return;
        }
        if (state == RunState.IN_GUEST && !sim.choices().isDefault() && guest.computeEnd() >= 0) {
            int k = sim.choices().pick(Choices.Point.IRQ_BOUNDARY, MAX_BOUNDARIES + 3, null);
            if (k > MAX_BOUNDARIES) {
                sim.after(k == MAX_BOUNDARIES + 1 ? KICK_INSIDE_NS : KICK_HOLD_NS, this, EV_KICK, gen);
                return;
            }
            if (k > 0) {
                guest.exitAtBoundary(k);
                sim.after(KICK_HOLD_NS, this, EV_KICK, gen); // the IPI arrives at the latest then
                return;
            }
        }
        kickNow();
    }

    /** Instruction boundaries of the guest's own a kick may be held back by ({@link Choices.Point#IRQ_BOUNDARY}). */
    private static final int MAX_BOUNDARIES = 3;
    /** Guest time a kick may be held back at most: longer than an IPI takes to reach a running CPU. */
    private static final long KICK_HOLD_NS = 20_000;
    /** A boundary inside a compute step, this much guest time after the kick (the last alternative). */
    private static final long KICK_INSIDE_NS = 1_000;

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
        sim.touch(dev.apfsim.engine.Access.VCPU | id);
        if (state == RunState.BLOCKED && runnable()) {
            threadWoken(cost(Choices.Cost.HALT_WAKEUP, costs.haltWakeupNs()));
        }
    }

    /** {@code try_to_wake_up} of the vCPU thread: it runs once it has a host CPU and {@code cost} has passed. */
    private void threadWoken(long cost) {
        state = RunState.PREEMPTED;
        owed = cost;
        time.hostState(TimeCategory.HOST_PREEMPTED, sim.now());
        if (!cpus.wake(this, hostCpu)) {
            vcpuState(sim.now(), "preempted");
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
        probe(exitProbe);
        time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
        vcpuState(sim.now(), "host");
        state = RunState.IN_HOST;
    }

    /**
     * An arch exit handler is done: back into the run loop after the VM exit and {@code handlerNs} of the handler's
     * own work, both costs the checker may vary.
     */
    public void exitHandled(long handlerNs) {
        scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()) + cost(Choices.Cost.EXIT_HANDLER, handlerNs));
    }

    /** {@link #exitHandled} after a fault the host fixed with a minor fault of its own. */
    public void exitHandledMinorFault(long handlerNs) {
        scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()) + cost(Choices.Cost.EXIT_HANDLER, handlerNs)
                + cost(Choices.Cost.MINOR_FAULT, costs.minorFaultNs()));
    }

    /**
     * Back into the run loop after {@code delay} of host work. When this vCPU's own event asks (an exit handled, a
     * HLT, a request), the entry is the thread's next step: it runs without a queued event when nothing else is due
     * first (the host-side steps between an exit and the next entry are the vCPU thread's own; no other actor sees
     * them unless it has an event in between). A kick or wake-up from another actor stays an event of its own.
     */
    public void scheduleEnter(long delay) {
        if (prefaultSleeping) {
            throw new IllegalStateException("vCPU " + id + " asleep in a prefault's GUP: use afterPrefault");
        }
        state = RunState.IN_HOST;
        if (cpus.mustYield(hostCpu)) {
            preempted(delay); // need_resched: the next preemption point is now
            return;
        }
        enterAt = sim.now() + delay;
        next(enterAt, EV_ENTER, ++enterGen);
    }

    private void next(long at, int code, long arg) {
        if (inOwnEvent) {
            sim.continueAt(at, this, code, arg);
        } else {
            sim.at(at, this, code, arg);
        }
    }

    /** This thread's events touch this vCPU and the host CPU it runs on (and the guest pages it touches). */
    @Override
    public int footprint() {
        return EventHandler.local(id, hostCpu);
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
            case EV_ENTER -> {
                if (arg != enterGen || state != RunState.IN_HOST) {
                    return; // the pass was preempted and is owed instead
                }
                enterAt = -1;
                if (cpus.mustYield(hostCpu)) {
                    preempted(0); // xfer_to_guest_mode_handle_work: schedule() before entering the guest
                    return;
                }
                vcpuRun();
            }
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
        if (asyncPf.inPrefault() && !resumeAfterPrefault()) {
            return;
        }
        while (state != RunState.STOPPED) {
            if (migrationPending) {
                // xfer_to_guest_mode_handle_work: the signal ends KVM_RUN (KVM_EXIT_INTR); the VMM saves and restores
                // the vCPU, then calls KVM_RUN again
                migrationPending = false;
                arch.migrate();
                continue;
            }
            if (running()) {
                KvmArch.Entry pass = arch.vcpuEnterGuest();
                afterResched = false;
                switch (pass) {
                    case AGAIN -> {
                        continue;
                    }
                    case STOP, ASLEEP -> {
                        return;
                    }
                    case ENTER -> {
                    }
                }
                if (hwpoisonSignal >= 0) {
                    // kvm_vcpu_exit_request → xfer_to_guest_mode_handle_work: the pending SIGBUS ends KVM_RUN and the
                    // VMM's handler sees the poisoned page, as for a fault (kvm_handle_error_pfn)
                    vmStop("hwpoison", HostMemory.EHWPOISON, hwpoisonSignal);
                    return;
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
                releaseCpu();
                return;
            }
            mpHalted = false;
            arch.vcpuUnhalted();
        }
    }

    private void runGuest(long from) {
        state = RunState.IN_GUEST;
        inGuestRun = true;
        GuestExit exit;
        try {
            exit = guest.run(from, sim.horizon());
        } finally {
            inGuestRun = false;
        }
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
            case GuestExit.IrqWindow w -> {
                arch.interruptWindowExit();
                scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()));
            }
            case GuestExit.ExternalInterrupt e -> scheduleEnter(cost(Choices.Cost.VM_EXIT, costs.vmExitNs()));
            case GuestExit.Dead d -> stopThread();
            case GuestExit.Continue k -> throw new IllegalStateException("Continue is not an exit");
            default -> arch.handleExit(exit);
        }
    }

    /**
     * The thread is back from a prefault's GUP: the completion loop goes on where it stopped
     * ({@link AsyncPf#resumeCompletion}), then the exit handler it was called from, if any; a completion check
     * before entry starts the pass over (a request raised meanwhile would have cancelled the entry anyway,
     * {@code kvm_vcpu_exit_request}). Returns false when the thread stops here (asleep again, or the handler's
     * rest scheduled the next pass).
     */
    private boolean resumeAfterPrefault() {
        if (!asyncPf.resumeCompletion()) {
            return false;
        }
        // ≤5.7 polled at the bottom of the loop: the next pass enters the guest without polling again
        afterResched = true;
        Runnable rest = afterPrefault;
        if (rest != null) {
            afterPrefault = null;
            rest.run();
            return false;
        }
        return true;
    }

    /**
     * The rest of an exit handler that consumed completions ({@code kvm_check_async_pf_completion} from an MSR
     * write or a hypercall): now, or, when a prefault put the thread to sleep in its GUP, once it is back.
     */
    public void afterPrefault(Runnable rest) {
        if (asyncPf.inPrefault()) {
            afterPrefault = rest;
        } else {
            rest.run();
        }
    }

    /**
     * {@code kvm_arch_async_page_ready} → {@code kvm_mmu_do_page_fault(..., prefetch=true)} of a page that is not
     * in: {@code __kvm_faultin_pfn} does not go async for a prefetch fault and falls through to the blocking
     * {@code __gfn_to_pfn_memslot}, on the vCPU thread. The thread sleeps until the device has read the page, or
     * gets the error at once (SIGBUS backing); no interrupt reaches the guest meanwhile.
     */
    private void prefaultGup(KvmAsyncPf work) {
        prefaultSleeping = true;
        state = RunState.SYNC_WAIT;
        long start = sim.now();
        time.hostState(TimeCategory.SYNC_BLOCKED, start);
        vcpuState(start, "sync");
        metrics.counters.inc(Counter.SYNC_PREFETCH);
        trace(new TraceEvent.SyncFault(start, id, work.gfn, Counter.SYNC_PREFETCH.key()));
        boolean sleeps = memory.gupSleeps(work.gfn);
        int wait = startGup(work.gfn, sleeps);
        if (wait < 0) {
            return;
        }
        memory.getUserPages(work.gfn, (g, errno) -> {
            if (state == RunState.STOPPED || wait != gupWait) {
                return; // stopped, or the GUP was given up: the page is in for whoever faults next
            }
            prefaultSleeping = false;
            asyncPf.prefaultReturned(errno);
            backFromGup(sleeps, errno == 0 ? cost(Choices.Cost.MINOR_FAULT, costs.minorFaultNs()) : 0);
        });
        if (sleeps && prefaultSleeping) {
            releaseCpu(); // asleep in the GUP: the CPU goes to the next thread
        }
    }

    /**
     * A blocking GUP of {@code gfn} starts: its number, or -1 when the VMM's kick is already pending and the GUP is
     * interruptible, so it gives up at once ({@link #interruptGup}); the device read starts all the same.
     */
    private int startGup(long gfn, boolean sleeps) {
        gupSleeps = sleeps;
        int wait = ++gupWait;
        if (sleeps && migrationPending && arch.gupInterruptible()) {
            memory.getUserPages(gfn, (g, errno) -> { });
            interruptGup();
            return -1;
        }
        return wait;
    }

    /**
     * The VMM's kick reaches a thread in an interruptible GUP: the GUP returns -EINTR ({@code gup_signal_pending},
     * {@code KVM_PFN_ERR_SIGPENDING}). A prefault's error is dropped ({@code kvm_arch_async_page_ready}) and the
     * completion loop goes on; a fault's is {@code kvm_handle_signal_exit}, and the guest faults again when run
     * again. The device read goes on and its page arrives for the next fault.
     */
    private void interruptGup() {
        gupWait++;
        if (prefaultSleeping) {
            prefaultSleeping = false;
            asyncPf.prefaultReturned(HostMemory.EINTR);
        }
        backFromGup(gupSleeps, 0);
    }

    /** The vCPU thread is back from a blocking GUP; {@code restNs} of host work remain before the next entry. */
    private void backFromGup(boolean slept, long restNs) {
        if (slept) {
            threadWoken(restNs); // woken from the page lock
        } else {
            time.hostState(TimeCategory.HOST_OVERHEAD, sim.now());
            vcpuState(sim.now(), "host");
            scheduleEnter(restNs);
        }
    }

    /** {@code kvm_send_hwpoison_signal} from a prefault: SIGBUS (BUS_MCEERR_AR) is now pending on the thread. */
    public void hwpoisonSignal(long gfn) {
        if (hwpoisonSignal < 0) {
            hwpoisonSignal = gfn;
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
        boolean sleeps = memory.gupSleeps(gfn);
        int wait = startGup(gfn, sleeps);
        if (wait < 0) {
            return;
        }
        memory.getUserPages(gfn, (g, errno) -> {
            if (state == RunState.STOPPED || wait != gupWait) {
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
                backFromGup(sleeps, cost(Choices.Cost.MINOR_FAULT, costs.minorFaultNs()));
            }
        });
        if (sleeps && state == RunState.SYNC_WAIT) {
            releaseCpu(); // asleep in the GUP: the CPU goes to the next thread (a kworker, another vCPU)
        }
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
        cpus.leave(this, hostCpu);
        vcpuState(sim.now(), "stopped");
        time.hostState(null, sim.now());
    }

    /**
     * The VMM migrates this vCPU (a scripted perturbation); a stopped vCPU stays stopped. The VMM kicks the thread
     * out of KVM_RUN first (QEMU's SIG_IPI) and saves the vCPU once it is out. A guest that runs exits (the kick's
     * IPI) and has its exit handled; a thread inside a GUP or a completion check (the prefault of {@code
     * kvm_check_async_pf_completion}) finishes it first — an interruptible GUP gives up ({@link #interruptGup}),
     * arm64's and s390's finish their I/O; the migration follows at the top of its run loop. A thread that is
     * blocked, preempted or between an exit and the next entry is saved at once (it changes nothing meanwhile).
     */
    public void migrate() {
        if (state == RunState.STOPPED) {
            return;
        }
        if (state == RunState.IN_GUEST || state == RunState.SYNC_WAIT || asyncPf.inPrefault()) {
            boolean inGup = state == RunState.SYNC_WAIT && !migrationPending;
            migrationPending = true;
            if (inGup && arch.gupInterruptible()) {
                interruptGup();
            } else if (state == RunState.IN_GUEST) {
                kick();
            }
            return;
        }
        arch.migrate();
    }

    /** A migration the VMM asked for waits for the thread to leave KVM_RUN (part of the abstract state). */
    public boolean migrationPending() {
        return migrationPending;
    }

    /** Closes the time accounting at the end of a run. */
    public void finish(long now) {
        if (state == RunState.IN_GUEST) {
            guest.preempt(now);
        }
        time.finish(now);
    }
}
