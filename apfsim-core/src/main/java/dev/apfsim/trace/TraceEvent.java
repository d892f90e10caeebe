package dev.apfsim.trace;

/**
 * Everything a run reports, in simulated-time order. Host events carry the names and fields of KVM's own
 * tracepoints ({@code include/trace/events/kvm.h}, {@code arch/x86/kvm/trace.h}); guest and simulator events
 * are prefixed {@code guest_} and {@code apfsim_} so they are never mistaken for kernel ones.
 */
public sealed interface TraceEvent {
    /** Simulated time in nanoseconds. */
    long time();

    /** vCPU (host events) or guest CPU (guest events) the event belongs to; -1 for VM-wide events. */
    int vcpu();

    /** Event name as it appears in trace output. */
    String name();

    /** Who emitted it: the vCPU thread, a host worker, or the guest. */
    enum Actor { VCPU_THREAD, WORKER, GUEST, VMM }

    default Actor actor() {
        return Actor.VCPU_THREAD;
    }

    /** Timeline-only events (for Perfetto, NDJSON, reports) stay out of the canonical stream and the fingerprint. */
    default boolean timeline() {
        return false;
    }

    // ---- KVM tracepoints -------------------------------------------------------------------------------

    /** {@code kvm_try_async_get_page}: emitted by {@code __kvm_faultin_pfn} once {@code kvm_can_do_async_pf} passed. */
    record TryAsyncGetPage(long time, int vcpu, long gva, long gfn) implements TraceEvent {
        public String name() { return "kvm_try_async_get_page"; }
    }

    /** {@code kvm_async_pf_repeated_fault}: the gfn already has an outstanding async PF. */
    record RepeatedFault(long time, int vcpu, long gva, long gfn) implements TraceEvent {
        public String name() { return "kvm_async_pf_repeated_fault"; }
    }

    /** {@code kvm_async_pf_not_present}: {@code kvm_arch_async_page_not_present}, injected or halted. */
    record NotPresent(long time, int vcpu, long token, long gva) implements TraceEvent {
        public String name() { return "kvm_async_pf_not_present"; }
    }

    /** {@code kvm_async_pf_ready}: {@code kvm_arch_async_page_present}, with or without an interrupt. */
    record Ready(long time, int vcpu, long token, long gva) implements TraceEvent {
        public String name() { return "kvm_async_pf_ready"; }
    }

    /**
     * {@code kvm_async_pf_completed}: end of {@code async_pf_execute} (address = host virtual address), on the
     * bound kworker {@code kworker/hostCpu:worker} of the CPU the vCPU thread queued the work on.
     */
    record Completed(long time, int vcpu, long address, long gva, int hostCpu, int worker) implements TraceEvent {
        public String name() { return "kvm_async_pf_completed"; }
        public Actor actor() { return Actor.WORKER; }
    }

    /** {@code kvm_inj_exception}: an exception entering the guest. */
    record InjException(long time, int vcpu, int vector, boolean hasError, int errorCode) implements TraceEvent {
        public String name() { return "kvm_inj_exception"; }
    }

    /** {@code kvm_nested_vmexit_inject}: a VM-exit reflected to L1 (VMX layout). */
    record NestedVmexitInject(long time, int vcpu, String reason, long exitQualification, long idtVectoringInfo,
                              int intrInfo, int intrErrorCode) implements TraceEvent {
        public String name() { return "kvm_nested_vmexit_inject"; }
    }

    /** The VMM saved this vCPU's state and restored it on a destination (live migration). */
    record Migrated(long time, int vcpu, long pendingToken, String restoredAs) implements TraceEvent {
        public String name() { return "apfsim_migrated"; }
        public Actor actor() { return Actor.VMM; }
    }

    /** {@code kvm_apic_accept_irq}: a fixed-mode interrupt accepted by a LAPIC. */
    record ApicAcceptIrq(long time, int vcpu, int apicId, int vector) implements TraceEvent {
        public String name() { return "kvm_apic_accept_irq"; }
    }

    /** {@code kvm_msr}: a guest RDMSR/WRMSR of an APF MSR, with #GP when it faulted. */
    record Msr(long time, int vcpu, boolean write, int msr, long data, boolean gp) implements TraceEvent {
        public String name() { return "kvm_msr"; }
    }

    /** {@code kvm_hvc_arm64} ({@code arch/arm64/kvm/trace_arm.h}): an HVC from an arm64 guest. */
    record HvcArm64(long time, int vcpu, long vcpuPc, long r0, long imm) implements TraceEvent {
        public String name() { return "kvm_hvc_arm64"; }
    }

    /** {@code kvm_pio} ({@code arch/x86/kvm/trace.h}): a port I/O exit, handed to the VMM as KVM_EXIT_IO. */
    record Pio(long time, int vcpu, boolean write, int port, int size, long val) implements TraceEvent {
        public String name() { return "kvm_pio"; }
    }

    /** {@code kvm_userspace_exit}: KVM_RUN returned to the VMM (EFAULT on a failed synchronous fault). */
    record UserspaceExit(long time, int vcpu, int errno, String why) implements TraceEvent {
        public String name() { return "kvm_userspace_exit"; }
        public Actor actor() { return Actor.VMM; }
    }

    // ---- simulator-level host events (no kernel tracepoint exists) --------------------------------------

    /**
     * {@code kvm_s390_major_guest_pfault} ({@code arch/s390/kvm/trace.h}): {@code gmap_fault} with
     * FAULT_FLAG_RETRY_NOWAIT returned -EAGAIN, the page needs I/O. {@code pswMask}/{@code pswAddr}: the guest PSW.
     */
    record S390MajorGuestPfault(long time, int vcpu, long pswMask, long pswAddr) implements TraceEvent {
        public String name() { return "kvm_s390_major_guest_pfault"; }
    }

    /** {@code kvm_s390_pfault_init}: {@code kvm_arch_async_page_not_present} injects PFAULT_INIT. */
    record S390PfaultInit(long time, int vcpu, long pswMask, long pswAddr, long pfaultToken) implements TraceEvent {
        public String name() { return "kvm_s390_pfault_init"; }
    }

    /** {@code kvm_s390_pfault_done}: {@code kvm_arch_async_page_present} injects PFAULT_DONE (floating). */
    record S390PfaultDone(long time, int vcpu, long pswMask, long pswAddr, long pfaultToken, int hostCpu, int worker)
            implements TraceEvent {
        public String name() { return "kvm_s390_pfault_done"; }
        public Actor actor() { return Actor.WORKER; }
    }

    /**
     * arm64: an async PF notification enters the guest at VM entry: {@code dabt} (RFCv2's injected data abort,
     * {@code kvm_inject_dabt}, which has no tracepoint) or {@code sdei} (an SDEI event), with the guest PC it
     * interrupts and that PC's region ({@code user}, {@code kernel}, {@code vectors}, {@code kernel_entry},
     * {@code kernel_exit}).
     */
    record Arm64Inject(long time, int vcpu, String kind, long token, int reason, long pc, String region)
            implements TraceEvent {
        public String name() { return "apfsim_arm64_inject"; }
    }

    /** The vCPU thread took a synchronous fault and blocks in GUP ({@code reason} says why async was refused). */
    record SyncFault(long time, int vcpu, long gfn, String reason) implements TraceEvent {
        public String name() { return "apfsim_sync_fault"; }
    }

    /** {@code KVM_REQ_APF_HALT} processed: the vCPU enters the synthetic halt. */
    record ApfHalt(long time, int vcpu, long gfn) implements TraceEvent {
        public String name() { return "apfsim_apf_halt"; }
    }

    /** A wake-all item was queued by an enabling MSR write ({@code kvm_async_pf_wakeup_all}). */
    record WakeupAllQueued(long time, int vcpu) implements TraceEvent {
        public String name() { return "apfsim_wakeup_all_queued"; }
    }

    /** Outstanding work discarded by {@code kvm_clear_async_pf_completion_queue}. */
    record QueueCleared(long time, int vcpu, int discarded, String cause) implements TraceEvent {
        public String name() { return "apfsim_apf_queue_cleared"; }
    }

    /** Prefault on consumption ({@code kvm_arch_async_page_ready}); {@code fixed} false when skipped. */
    record Prefault(long time, int vcpu, long gfn, boolean fixed, String why) implements TraceEvent {
        public String name() { return "apfsim_prefault"; }
    }

    /** A vCPU changed what it spends time on (for timelines). */
    record VcpuState(long time, int vcpu, String state) implements TraceEvent {
        public String name() { return "apfsim_vcpu_state"; }
        public boolean timeline() { return true; }
    }

    /** The host backing device started or finished bringing in a page. */
    record PageIo(long time, int vcpu, long gfn, boolean done, boolean failed) implements TraceEvent {
        public String name() { return "apfsim_page_io"; }
        public boolean timeline() { return true; }
        public Actor actor() { return Actor.WORKER; }
    }

    /** An invariant of the protocol was broken (see docs/invariants.md). */
    record Violation(long time, int vcpu, String invariant, String detail) implements TraceEvent {
        public String name() { return "apfsim_violation"; }
        public Actor actor() { return Actor.VMM; }
    }

    // ---- guest kernel events ----------------------------------------------------------------------------

    /** {@code kvm_async_pf_task_wait_schedule}: the task sleeps on a token (or consumed a dummy). */
    record GuestApfWait(long time, int vcpu, int task, long token, boolean dummyConsumed) implements TraceEvent {
        public String name() { return "guest_apf_wait"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** {@code kvm_async_pf_task_wake}: a page-ready woke a sleeper, or left a dummy node ({@code task} = -1). */
    record GuestApfWake(long time, int vcpu, int task, long token) implements TraceEvent {
        public String name() { return "guest_apf_wake"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** {@code apf_task_wake_all}: token ~0 woke every sleeper of this CPU. */
    record GuestApfWakeAll(long time, int vcpu, int woken) implements TraceEvent {
        public String name() { return "guest_apf_wake_all"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** The guest scheduler switched tasks (-1 = idle). */
    record GuestSwitch(long time, int vcpu, int prev, int next) implements TraceEvent {
        public String name() { return "guest_sched_switch"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** A sleeping task became runnable ({@code sched_wakeup}); {@code apf} when an async PF page-ready woke it. */
    record GuestWakeup(long time, int vcpu, int task, boolean apf) implements TraceEvent {
        public String name() { return "guest_sched_wakeup"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** A task finished its program ({@code sched_process_exit}). */
    record GuestTaskExit(long time, int vcpu, int task) implements TraceEvent {
        public String name() { return "guest_task_exit"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** The guest took a regular (non-async) #PF. */
    record GuestPageFault(long time, int vcpu, int task, long address) implements TraceEvent {
        public String name() { return "guest_page_fault"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** The guest kernel panicked. */
    record GuestPanic(long time, int vcpu, String message) implements TraceEvent {
        public String name() { return "guest_panic"; }
        public Actor actor() { return Actor.GUEST; }
    }

    /** A guest task was killed (SIGBUS from an injected error). */
    record GuestTaskKilled(long time, int vcpu, int task, String signal, long address) implements TraceEvent {
        public String name() { return "guest_task_killed"; }
        public Actor actor() { return Actor.GUEST; }
    }
}
