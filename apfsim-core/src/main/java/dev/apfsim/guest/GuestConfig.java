package dev.apfsim.guest;

/**
 * The guest kernel's behaviour and costs.
 *
 * @param apf            how the guest uses async PF
 * @param enBits         extra MSR_KVM_ASYNC_PF_EN bits for {@link ApfMode#CUSTOM} (e.g. 0x1, 0x3, 0xb)
 * @param apfVector      vector written to MSR_KVM_ASYNC_PF_INT (Linux: HYPERVISOR_CALLBACK_VECTOR 0xf3)
 * @param pfHandler      what the #PF handler does with an async "page not present"
 * @param timesliceNs    scheduler timeslice before a runnable task preempts the current one
 * @param tickNs         periodic LAPIC timer period (HZ=250: 4 ms); stopped while idle (NOHZ)
 * @param pfHandlerNs    #PF entry + kvm_handle_async_pf
 * @param irqHandlerNs   page-ready interrupt handler (sysvec_kvm_asyncpf_interrupt) before its ACK
 * @param timerHandlerNs timer interrupt handler
 * @param contextSwitchNs scheduler switch between tasks
 * @param scheduler      the scheduling policy of each CPU's run queue
 * @param test           a test guest's handlers ({@code guest.kind: test}), or null for the Linux-like kernel
 * @param timerVector    the vector of the LAPIC timer interrupt (Linux: LOCAL_TIMER_VECTOR 0xec)
 */
public record GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs,
                          long tickNs, long pfHandlerNs, long irqHandlerNs, long timerHandlerNs,
                          long contextSwitchNs, SchedulerPolicy scheduler, TestKernel test, int timerVector) {

    /** Linux x86 {@code LOCAL_TIMER_VECTOR} ({@code arch/x86/include/asm/irq_vectors.h}). */
    public static final int LOCAL_TIMER_VECTOR = 0xec;
    /** Linux x86 {@code HYPERVISOR_CALLBACK_VECTOR}: where {@code kvm_guest_cpu_init} puts page-ready. */
    public static final int HYPERVISOR_CALLBACK_VECTOR = 0xf3;

    /** A guest with Linux's timer vector. */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs,
                       SchedulerPolicy scheduler, TestKernel test) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, scheduler, test, LOCAL_TIMER_VECTOR);
    }

    /** A Linux-like guest (no test kernel). */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs,
                       SchedulerPolicy scheduler) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, scheduler, null);
    }

    /** The round-robin scheduler (the original arity). */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, SchedulerPolicy.ROUND_ROBIN);
    }

    public GuestConfig {
        java.util.Objects.requireNonNull(scheduler, "scheduler");
    }

    public GuestConfig withScheduler(SchedulerPolicy s) {
        return new GuestConfig(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs,
                timerHandlerNs, contextSwitchNs, s, test, timerVector);
    }

    /** The same guest with another tick period (0: no tick). */
    public GuestConfig withTick(long ns) {
        return new GuestConfig(apf, enBits, apfVector, pfHandler, timesliceNs, ns, pfHandlerNs, irqHandlerNs,
                timerHandlerNs, contextSwitchNs, scheduler, test, timerVector);
    }

    /** This is a test guest: its handlers are {@link #test()}'s, not Linux's. */
    public boolean isTest() {
        return test != null;
    }

    /** How a CPU picks the next task ({@link Scheduler}). */
    public enum SchedulerPolicy {
        /** FIFO run queue; the current task keeps the CPU until its timeslice ends at a tick (a woken task waits). */
        ROUND_ROBIN,
        /** CFS ({@code kernel/sched/fair.c} before EEVDF) for equal-weight tasks: smallest vruntime first, sleeper
         *  placement, wake-up and tick preemption. */
        CFS
    }

    public enum ApfMode {
        /** Linux 5.9+: INT = vector, then EN = area | ENABLED | DELIVERY_AS_INT (| VMEXIT if offered). */
        LINUX,
        /** Linux ≤5.7: EN = area | ENABLED | SEND_ALWAYS (CONFIG_PREEMPTION) | VMEXIT if offered; page-ready
         *  arrives as a #PF with reason 2. Against a 5.8+ host (no bit 3) it gets no PV events at all. */
        LINUX_LEGACY,
        /** {@code no-kvmapf} or a non-Linux guest: the APF MSRs are never written. */
        NEVER,
        /** Write INT = vector, then EN = area | {@code enBits} (e.g. SEND_ALWAYS, or no DELIVERY_AS_INT). */
        CUSTOM
    }

    public enum PfHandler {
        /** {@code kvm_async_pf_task_wait_schedule}: sleep until page-ready. */
        WAIT,
        /** Return at once (a broken or test guest): the retry hits {@code kvm_async_pf_repeated_fault}. */
        RETURN_WITHOUT_WAIT
    }

    public static GuestConfig defaults() {
        return new GuestConfig(ApfMode.LINUX, 0, HYPERVISOR_CALLBACK_VECTOR, PfHandler.WAIT, 3_000_000, 4_000_000, 1_500, 1_500, 1_000,
                2_000);
    }
}
