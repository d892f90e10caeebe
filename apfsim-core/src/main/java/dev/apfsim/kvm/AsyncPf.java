package dev.apfsim.kvm;

import dev.apfsim.engine.EventHandler;
import dev.apfsim.engine.Simulator;
import dev.apfsim.memory.HostMemory;
import dev.apfsim.metrics.Counter;
import dev.apfsim.metrics.Metrics;
import dev.apfsim.trace.TraceEvent;
import dev.apfsim.trace.Tracer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;

/**
 * The architecture-neutral part of async PF for one vCPU ({@code vcpu->async_pf} and the functions of
 * {@code virt/kvm/async_pf.c}): the queue of items this vCPU created, the done list the workers fill, the
 * count of outstanding items, the worker, and the wake-all item.
 */
public final class AsyncPf {
    /** {@code ASYNC_PF_PER_VCPU}. */
    public static final int ASYNC_PF_PER_VCPU = 64;

    private static final int WORKER_START = 0;

    private final int vcpuId;
    private final Simulator sim;
    private final HostMemory memory;
    private final Tracer tracer;
    private final Metrics metrics;
    private final long workerDispatchNs;
    private KvmArch arch;
    /** {@code CONFIG_KVM_ASYNC_PF_SYNC} (s390): page-present is sent from the worker, not the vCPU thread. */
    private final boolean sync;
    private final Runnable wakeUp;
    private final HostCpus cpus;
    /** The host CPU the vCPU thread runs on now. */
    private final java.util.function.IntSupplier hostCpu;
    /** Puts the vCPU thread to sleep in the blocking GUP of a prefault ({@link KvmVcpu}). */
    private final java.util.function.Consumer<KvmAsyncPf> prefaultGup;
    /** The item whose prefault holds the vCPU thread in its GUP (dequeued, not yet presented), or null. */
    private KvmAsyncPf inPrefault;
    /** That GUP's result once it returned; -1 while it still sleeps. */
    private int prefaultErrno = -1;

    private final ArrayList<KvmAsyncPf> queue = new ArrayList<>();
    private final ArrayDeque<KvmAsyncPf> done = new ArrayDeque<>();
    private int queued;

    /**
     * @param wakeUp {@code __kvm_vcpu_wake_up} of the owning vCPU, which the worker calls when it is done
     * @param sync   {@code CONFIG_KVM_ASYNC_PF_SYNC}
     * @param cpus   the host CPUs the kworkers run on
     * @param hostCpu the host CPU the owning vCPU thread runs on now
     * @param prefaultGup blocks the owning vCPU thread in the GUP of an item's prefault
     */
    public AsyncPf(int vcpuId, Simulator sim, HostMemory memory, Tracer tracer, Metrics metrics, long workerDispatchNs,
                   Runnable wakeUp, boolean sync, HostCpus cpus, java.util.function.IntSupplier hostCpu,
                   java.util.function.Consumer<KvmAsyncPf> prefaultGup) {
        this.prefaultGup = prefaultGup;
        this.cpus = cpus;
        this.hostCpu = hostCpu;
        this.vcpuId = vcpuId;
        this.wakeUp = wakeUp;
        this.sync = sync;
        this.sim = sim;
        this.memory = memory;
        this.tracer = tracer;
        this.metrics = metrics;
        this.workerDispatchNs = workerDispatchNs;
    }

    public void setArch(KvmArch arch) {
        this.arch = arch;
    }

    public int queued() {
        return queued;
    }

    public boolean doneEmpty() {
        return done.isEmpty();
    }

    public int doneSize() {
        return done.size();
    }

    /** Items created by this vCPU and not consumed yet (wake-alls excluded), oldest first. */
    public Iterable<KvmAsyncPf> queue() {
        return queue;
    }

    /**
     * {@code kvm_setup_async_pf}: false means "fault synchronously" (queue full; bad hva and allocation failure
     * cannot happen in the model).
     */
    public boolean setup(KvmAsyncPf work) {
        if (queued >= ASYNC_PF_PER_VCPU) {
            return false;
        }
        queue.add(work);
        queued++;
        work.notpresentInjected = arch.asyncPageNotPresent(work);
        schedule(work);
        return true;
    }

    /**
     * {@code schedule_work}: {@code system_wq} is a per-CPU workqueue, so the item goes to the pool of the host CPU
     * the vCPU thread runs on now; a kworker of that pool wakes there and competes with the vCPU thread.
     */
    private void schedule(KvmAsyncPf work) {
        int cpu = hostCpu.getAsInt();
        cpus.wakeKworker(cpu, new Kworker(work, cpu));
    }

    /**
     * One bound kworker ({@code kworker/N:M}) running {@code async_pf_execute} for one item: {@code worker_dispatch}
     * of CPU time up to {@code get_user_pages_remote}, then the GUP, on the CPU (a GUP that fails or finds the page
     * at once) or asleep until the page is in (the CPU is free meanwhile, and the worker wakes on it again to finish).
     */
    private final class Kworker implements HostCpus.HostThread, EventHandler {
        private final KvmAsyncPf work;
        private final int cpu;
        private int id = -1;
        private int errno;
        private long dispatch;

        Kworker(KvmAsyncPf work, int cpu) {
            this.work = work;
            this.cpu = cpu;
        }

        @Override
        public void cpuGranted(int c) {
            if (id >= 0) {
                finish(); // woken after its GUP's I/O
                return;
            }
            if (!work.live) {
                cpus.release(this, cpu); // cancelled by kvm_clear_async_pf_completion_queue before it ran
                return;
            }
            id = cpus.takeWorker(cpu);
            dispatch = sim.choices().cost(dev.apfsim.engine.Choices.Cost.WORKER_DISPATCH, workerDispatchNs);
            metrics.workerNs += dispatch;
            sim.after(dispatch, this, WORKER_START, 0);
        }

        @Override
        public void reschedule() {
            // a kworker runs to its next sleep
        }

        /** The item's vCPU (its queue and done list) and this worker's host CPU (and the page it faults in). */
        @Override
        public int footprint() {
            return EventHandler.local(vcpuId, cpu);
        }

        /** async_pf_execute reaches get_user_pages_remote(FOLL_WRITE); the result is ignored in 6.12. */
        @Override
        public void onEvent(int code, long arg) {
            long started = sim.now();
            boolean sleeps = memory.gupSleeps(work.gfn);
            memory.getUserPages(work.gfn, (gfn, e) -> {
                metrics.workerNs += sim.now() - started;
                if (e != 0) {
                    metrics.failedWorkerNs += sim.now() - started + dispatch;
                    if (metrics.firstWorkerErrorNs < 0) {
                        metrics.firstWorkerErrorNs = sim.now();
                    }
                    metrics.lastWorkerErrorNs = sim.now();
                }
                errno = e;
                if (sleeps) {
                    cpus.wakeKworker(cpu, this);
                } else {
                    finish();
                }
            });
            if (sleeps) {
                cpus.release(this, cpu); // asleep on the page: the CPU goes to the next thread
            }
        }

        private void finish() {
            complete(work, errno, cpu, id);
            cpus.freeWorker(cpu, id);
            cpus.release(this, cpu);
        }
    }

    /** The tail of {@code async_pf_execute}: append to done, maybe raise present_queued, trace, wake. */
    private void complete(KvmAsyncPf work, int errno, int cpu, int worker) {
        if (!work.live) {
            return;
        }
        work.workerCpu = cpu;
        work.worker = worker;
        work.workerErrno = errno;
        work.completed = true;
        metrics.counters.inc(Counter.WORKER_COMPLETED);
        if (errno != 0) {
            metrics.counters.inc(Counter.WORKER_ERRORS);
        }
        if (sync) {
            arch.asyncPagePresent(work); // "Notify and kick the vCPU even if faulting in the page failed"
        }
        boolean first = done.isEmpty();
        done.addLast(work);
        if (!sync && first) {
            arch.asyncPagePresentQueued();
        }
        tracer.emit(new TraceEvent.Completed(sim.now(), vcpuId, work.addr, work.cr2OrGpa, cpu, worker));
        wakeUp.run(); // __kvm_vcpu_wake_up
    }

    /**
     * {@code kvm_check_async_pf_completion}: consume done items while the arch allows. Each item is prefaulted
     * ({@code kvm_arch_async_page_ready}) before it is presented; a prefault whose page is not in blocks the vCPU
     * thread in GUP (a prefetch fault never goes async, {@code __kvm_faultin_pfn}), and the loop stops there until
     * the thread is back ({@link #resumeCompletion}).
     *
     * @return false when the vCPU thread now sleeps in a prefault's GUP: the caller must stop; the thread carries on
     *         with {@link #resumeCompletion} when woken
     */
    public boolean checkCompletion() {
        while (!done.isEmpty() && arch.canDequeueAsyncPagePresent()) {
            KvmAsyncPf work = done.pollFirst();
            if (arch.asyncPageReady(work)) {
                inPrefault = work;
                prefaultErrno = -1;
                prefaultGup.accept(work);
                return false;
            }
            consumed(work);
        }
        return true;
    }

    /** The vCPU thread holds an item in its prefault (its GUP may have returned, the loop has not gone on yet). */
    public boolean inPrefault() {
        return inPrefault != null;
    }

    /** The prefault's GUP returned with {@code errno} (0: the page is in); the thread resumes next. */
    void prefaultReturned(int errno) {
        prefaultErrno = errno;
    }

    /**
     * The vCPU thread is back from the prefault's GUP: finish that prefetch fault, present the item, and go on with
     * the loop of {@code kvm_check_async_pf_completion}. Nothing discards the item meanwhile: the queue is cleared
     * only by the thread itself or by the VMM, which waits until the thread is out of the loop
     * ({@link KvmVcpu#migrate}).
     *
     * @return as {@link #checkCompletion}
     */
    public boolean resumeCompletion() {
        KvmAsyncPf work = inPrefault;
        int errno = prefaultErrno;
        inPrefault = null;
        prefaultErrno = -1;
        if (!work.live) {
            throw new IllegalStateException("vCPU " + vcpuId + ": item of gfn " + work.gfn + " freed in its prefault");
        }
        arch.prefaultFaultedIn(work, errno);
        consumed(work);
        return checkCompletion();
    }

    /** The rest of one pass of the loop: present (unless the worker did), unlink, free. */
    private void consumed(KvmAsyncPf work) {
        if (!sync) {
            arch.asyncPagePresent(work);
        }
        if (!work.wakeupAll) {
            queue.remove(work);
            metrics.faultToReady.record(sim.now() - work.setupTime);
        }
        queued--;
        work.live = false;
    }

    /** {@code kvm_async_pf_wakeup_all}: queue a broadcast item unless completions are already pending. */
    public void wakeupAll() {
        if (!done.isEmpty()) {
            return;
        }
        KvmAsyncPf work = new KvmAsyncPf(0, 0, true, 0, -1, null, sim.now());
        boolean first = done.isEmpty();
        done.addLast(work);
        queued++;
        metrics.counters.inc(Counter.WAKE_ALLS);
        tracer.emit(new TraceEvent.WakeupAllQueued(sim.now(), vcpuId));
        if (!sync && first) {
            arch.asyncPagePresentQueued();
        }
    }

    /**
     * {@code kvm_clear_async_pf_completion_queue}: drop queued and completed items without notifying the guest.
     * Simplification: a work item already inside its GUP is detached rather than waited for.
     */
    public void clearCompletionQueue(String cause) {
        int discarded = 0;
        for (Iterator<KvmAsyncPf> it = queue.iterator(); it.hasNext(); ) {
            KvmAsyncPf w = it.next();
            w.live = false;
            it.remove();
            discarded++;
        }
        for (KvmAsyncPf w : done) {
            if (w.live) {
                w.live = false;
                if (w.wakeupAll) {
                    discarded++;
                }
            }
        }
        done.clear();
        queued = 0;
        if (discarded > 0) {
            metrics.counters.add(Counter.QUEUE_DISCARDED, discarded);
            tracer.emit(new TraceEvent.QueueCleared(sim.now(), vcpuId, discarded, cause));
        }
    }
}
