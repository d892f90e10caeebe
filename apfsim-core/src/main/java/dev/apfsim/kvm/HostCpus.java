package dev.apfsim.kvm;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;

import java.util.ArrayDeque;
import java.util.BitSet;

/**
 * The host CPUs as the host scheduler shares them between the VM's vCPU threads and the bound per-CPU kworkers
 * that run async PF work ({@code schedule_work} → {@code system_wq}, a per-CPU workqueue: the work runs on the CPU
 * that queued it). One thread runs on a CPU at a time. A woken kworker preempts a vCPU thread at its next
 * preemption point (wake-up preemption; for a vCPU thread: {@code xfer_to_guest_mode_handle_work} before it enters
 * the guest, or a VM exit if it is in the guest); vCPU threads on one CPU take turns by slice. Kworkers run to
 * their next sleep (a GUP waiting for I/O) or the end of their work and are not preempted.
 */
public final class HostCpus implements EventHandler {
    /** A thread that runs on a host CPU. */
    interface HostThread {
        /** It has the CPU now. */
        void cpuGranted(int cpu);

        /** Another thread wants its CPU: go to the next preemption point. */
        void reschedule();
    }

    private static final int EV_SLICE = 0;

    private final Simulator sim;
    private final HostCpuConfig config;
    private final Cpu[] cpus;

    private static final class Cpu {
        final int id;
        HostThread current;
        long since;
        /** {@code TIF_NEED_RESCHED} on the running vCPU thread. */
        boolean resched;
        boolean sliceArmed;
        final ArrayDeque<HostThread> kworkers = new ArrayDeque<>();
        final ArrayDeque<KvmVcpu> vcpus = new ArrayDeque<>();
        /** The pool's workers that hold a work item ({@code kworker/N:M}, M the index). */
        final BitSet busyWorkers = new BitSet();

        Cpu(int id) {
            this.id = id;
        }

        boolean idle() {
            return current == null && kworkers.isEmpty() && vcpus.isEmpty();
        }
    }

    public HostCpus(Simulator sim, HostCpuConfig config, int vcpus) {
        this.sim = sim;
        this.config = config;
        this.cpus = new Cpu[config.count(vcpus)];
        for (int pin : config.pins()) {
            if (pin >= cpus.length) {
                throw new IllegalArgumentException("host.pin: CPU " + pin + " of " + cpus.length + " host CPUs");
            }
        }
        for (int i = 0; i < cpus.length; i++) {
            cpus[i] = new Cpu(i);
        }
    }

    public int count() {
        return cpus.length;
    }

    /** A step looks at or changes {@code cpu}'s run queue (the checker's partial-order reduction). */
    private void touch(int cpu) {
        sim.touch(dev.apfsim.engine.Access.HOST_CPU | cpu);
    }

    /** The CPU a vCPU thread starts on: its pinned CPU, or (floating) spread the same way. */
    int home(int vcpu) {
        return config.home(vcpu, cpus.length);
    }

    /**
     * A vCPU thread is runnable on {@code last}: true if it has a CPU at once (its CPU, or floating an idle one:
     * {@code select_idle_sibling}), else it waits for {@link HostThread#cpuGranted}.
     */
    boolean wake(KvmVcpu v, int last) {
        touch(last);
        Cpu c = cpus[last];
        if (c.idle()) {
            run(c, v);
            return true;
        }
        if (config.pinning() == HostCpuConfig.Pinning.FLOATING) {
            for (Cpu o : cpus) {
                touch(o.id);
                if (o.idle()) {
                    run(o, v);
                    return true;
                }
            }
        }
        c.vcpus.addLast(v);
        armSlice(c);
        return false;
    }

    /** The thread running on {@code cpu} has to yield at its preemption point. */
    boolean mustYield(int cpu) {
        touch(cpu);
        return cpus[cpu].resched;
    }

    /** The running vCPU thread yields (preempted): back to the tail of its CPU's queue. */
    void yield(KvmVcpu v, int cpu) {
        touch(cpu);
        Cpu c = cpus[cpu];
        c.vcpus.addLast(v);
        if (c.current == v) {
            c.current = null;
            c.resched = false;
            dispatch(c);
        }
    }

    /** The running thread {@code t} sleeps (blocked, waits for I/O) or ends: the CPU goes to the next thread. */
    void release(HostThread t, int cpu) {
        touch(cpu);
        Cpu c = cpus[cpu];
        if (c.current != t) {
            return;
        }
        c.current = null;
        c.resched = false;
        dispatch(c);
    }

    /** A vCPU thread ends (the VM stops): off its CPU, or out of the queue it waits in. */
    void leave(KvmVcpu v, int cpu) {
        cpus[cpu].vcpus.remove(v);
        release(v, cpu);
    }

    /** A kworker of {@code cpu}'s pool becomes runnable ({@code wake_up_process} of a bound worker). */
    void wakeKworker(int cpu, HostThread w) {
        touch(cpu);
        Cpu c = cpus[cpu];
        if (c.current == null) {
            run(c, w);
            return;
        }
        c.kworkers.addLast(w);
        if (c.current instanceof KvmVcpu v && !c.resched) {
            c.resched = true; // check_preempt_wakeup_fair: the woken kworker preempts the vCPU thread
            v.reschedule();
        }
    }

    /** The lowest free worker index of {@code cpu}'s pool, now busy ({@code create_worker} if none is idle). */
    int takeWorker(int cpu) {
        touch(cpu);
        BitSet b = cpus[cpu].busyWorkers;
        int id = b.nextClearBit(0);
        b.set(id);
        return id;
    }

    void freeWorker(int cpu, int id) {
        touch(cpu);
        cpus[cpu].busyWorkers.clear(id);
    }

    private void run(Cpu c, HostThread t) {
        c.current = t;
        c.since = sim.now();
        c.resched = false;
        if (t instanceof KvmVcpu && !c.vcpus.isEmpty()) {
            armSlice(c);
        }
        t.cpuGranted(c.id);
    }

    private void dispatch(Cpu c) {
        if (c.kworkers.size() + c.vcpus.size() > 1 && !sim.choices().isDefault()) {
            run(c, chosen(c));
            return;
        }
        if (!c.kworkers.isEmpty()) {
            run(c, c.kworkers.pollFirst());
            return;
        }
        if (!c.vcpus.isEmpty()) {
            run(c, c.vcpus.pollFirst());
            return;
        }
        if (config.pinning() == HostCpuConfig.Pinning.FLOATING) {
            // newidle balance: pull a vCPU thread that waits behind another thread on a busy CPU
            for (Cpu o : cpus) {
                if (o != c && !o.vcpus.isEmpty() && o.current != null) {
                    run(c, o.vcpus.pollFirst());
                    return;
                }
            }
        }
    }

    /**
     * The checker's pick of the next thread on {@code c} ({@link dev.apfsim.engine.Choices.Point#HOST_THREAD}):
     * alternative 0 is the host's own (a woken kworker first, then the vCPU threads in turn), the others every other
     * waiting thread, so a kworker can be made to run late or a vCPU thread to wait behind one.
     */
    private HostThread chosen(Cpu c) {
        java.util.List<HostThread> alts = new java.util.ArrayList<>(c.kworkers.size() + c.vcpus.size());
        alts.addAll(c.kworkers);
        alts.addAll(c.vcpus);
        HostThread t = alts.get(sim.choices().pick(dev.apfsim.engine.Choices.Point.HOST_THREAD, alts.size(), null));
        if (!c.kworkers.remove(t)) {
            c.vcpus.remove(t);
        }
        return t;
    }

    /** vCPU threads share a CPU by slice: when the running one has had its slice, it is asked to yield. */
    private void armSlice(Cpu c) {
        if (c.sliceArmed || !(c.current instanceof KvmVcpu)) {
            return;
        }
        c.sliceArmed = true;
        sim.at(Math.max(sim.now(), c.since + config.sliceNs()), this, EV_SLICE, c.id);
    }

    @Override
    public void onEvent(int code, long arg) {
        Cpu c = cpus[(int) arg];
        c.sliceArmed = false;
        if (!(c.current instanceof KvmVcpu v) || c.vcpus.isEmpty() || c.resched) {
            return;
        }
        if (sim.now() < c.since + config.sliceNs()) {
            armSlice(c);
            return;
        }
        c.resched = true;
        v.reschedule();
    }
}
