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
 * @param version        which kernel's {@code __kvm_handle_async_pf} the Linux-like #PF handler runs
 * @param disabledPageReady what the page-ready handler does on a CPU whose {@code async_pf_enabled} is false
 * @param timerVector    the vector of the LAPIC timer interrupt (Linux: LOCAL_TIMER_VECTOR 0xec)
 */
public record GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs,
                          long tickNs, long pfHandlerNs, long irqHandlerNs, long timerHandlerNs,
                          long contextSwitchNs, SchedulerPolicy scheduler, TestKernel test, KernelVersion version,
                          DisabledPageReady disabledPageReady, int timerVector) {

    /** Linux x86 {@code LOCAL_TIMER_VECTOR} ({@code arch/x86/include/asm/irq_vectors.h}). */
    public static final int LOCAL_TIMER_VECTOR = 0xec;
    /** Linux x86 {@code HYPERVISOR_CALLBACK_VECTOR}: where {@code kvm_guest_cpu_init} puts page-ready. */
    public static final int HYPERVISOR_CALLBACK_VECTOR = 0xf3;

    /** A guest with Linux's timer vector. */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs,
                       SchedulerPolicy scheduler, TestKernel test, KernelVersion version,
                       DisabledPageReady disabledPageReady) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, scheduler, test, version, disabledPageReady, LOCAL_TIMER_VECTOR);
    }

    /** Linux's page-ready handler. */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs,
                       SchedulerPolicy scheduler, TestKernel test, KernelVersion version) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, scheduler, test, version, DisabledPageReady.EOI_ONLY);
    }

    /** The 6.12 baseline kernel. */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs,
                       SchedulerPolicy scheduler, TestKernel test) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, scheduler, test, KernelVersion.V6_12);
    }

    /** A Linux-like 6.12 guest (no test kernel). */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs,
                       SchedulerPolicy scheduler) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, scheduler, null, KernelVersion.V6_12);
    }

    /** The round-robin scheduler (the original arity). */
    public GuestConfig(ApfMode apf, long enBits, int apfVector, PfHandler pfHandler, long timesliceNs, long tickNs,
                       long pfHandlerNs, long irqHandlerNs, long timerHandlerNs, long contextSwitchNs) {
        this(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs, timerHandlerNs,
                contextSwitchNs, SchedulerPolicy.ROUND_ROBIN);
    }

    public GuestConfig {
        java.util.Objects.requireNonNull(scheduler, "scheduler");
        java.util.Objects.requireNonNull(version, "version");
        java.util.Objects.requireNonNull(disabledPageReady, "disabledPageReady");
    }

    public GuestConfig withScheduler(SchedulerPolicy s) {
        return new GuestConfig(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs,
                timerHandlerNs, contextSwitchNs, s, test, version, disabledPageReady, timerVector);
    }

    public GuestConfig withVersion(KernelVersion v) {
        return new GuestConfig(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs,
                timerHandlerNs, contextSwitchNs, scheduler, test, v, disabledPageReady, timerVector);
    }

    public GuestConfig withDisabledPageReady(DisabledPageReady d) {
        return new GuestConfig(apf, enBits, apfVector, pfHandler, timesliceNs, tickNs, pfHandlerNs, irqHandlerNs,
                timerHandlerNs, contextSwitchNs, scheduler, test, version, d, timerVector);
    }

    /** The same guest with another tick period (0: no tick). */
    public GuestConfig withTick(long ns) {
        return new GuestConfig(apf, enBits, apfVector, pfHandler, timesliceNs, ns, pfHandlerNs, irqHandlerNs,
                timerHandlerNs, contextSwitchNs, scheduler, test, version, disabledPageReady, timerVector);
    }

    /**
     * {@code sysvec_kvm_asyncpf_interrupt} on a CPU whose {@code async_pf_enabled} is false: a page-ready the host
     * injected before the guest's EN = 0 write, delivered once {@code kvm_cpu_down_prepare} restores IRQs.
     */
    public enum DisabledPageReady {
        /** Linux 6.12: EOI only; the token stays in {@code apf_reason} and no ACK is written (docs/findings.md). */
        EOI_ONLY,
        /** The fix: zero the token and write the ACK anyway, so the slot is free after {@code kvm_cpu_online}. */
        RELEASE
    }

    /** This is a test guest: its handlers are {@link #test()}'s, not Linux's. */
    public boolean isTest() {
        return test != null;
    }

    /**
     * The guest kernel whose {@code __kvm_handle_async_pf} (arch/x86/kernel/kvm.c) runs; the two differ in the order
     * of its checks.
     */
    public enum KernelVersion {
        /**
         * 6.12.117, the baseline ("x86/kvm: Don't consume async #PF flags on a kernel #PF in NMI context"): peek at
         * the flags without consuming them; a kernel-mode #PF returns to regular #PF handling inside an NMI (the
         * flags stay for the #PF the NMI interrupted) and panics outside one; only then read-and-zero, the IF check,
         * the wait.
         */
        V6_12,
        /**
         * Mainline as found in current copies: read-and-zero the flags first, then the IF check, then the kernel-mode
         * check. A kernel-mode #PF inside an NMI that interrupted an async #PF's entry consumes that #PF's flags and
         * panics "in interrupt disabled region".
         */
        MAINLINE
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
