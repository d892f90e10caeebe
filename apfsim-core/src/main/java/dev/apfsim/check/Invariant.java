package dev.apfsim.check;

/** The protocol properties checked during every run (docs/invariants.md says where each comes from). */
public enum Invariant {
    /** A guest task sleeps on a token the host no longer has outstanding: nothing will ever wake it. */
    LOST_WAKEUP("lost-wakeup"),
    /** A task stayed asleep past the liveness bound although its page had arrived. */
    LIVENESS("liveness"),
    /** The same gfn faulted asynchronously again and again without ever being mapped. */
    LIVELOCK("livelock"),
    /** Two outstanding async PFs of a vCPU share a token. */
    TOKEN_CLASH("token-clash"),
    /** Token 0 was handed to the guest (the guest cannot tell it from "no event"). */
    TOKEN_ZERO("token-zero"),
    /** The host wrote the page-ready token slot while it was non-zero. */
    SLOT_OVERWRITTEN("slot-overwritten"),
    /** The host wrote the reason word while the guest had not consumed the previous event (legacy #PF). */
    REASON_OVERWRITTEN("reason-overwritten"),
    /** A page-ready interrupt was injected while one was pending (pageready_pending). */
    PAGE_READY_WHILE_PENDING("page-ready-while-pending"),
    /** A page-ready interrupt was dropped by a software-disabled LAPIC. */
    PAGE_READY_DROPPED("page-ready-dropped"),
    /** An async #PF was injected although kvm_can_deliver_async_pf forbids it (IF=0, CPL0, paging off). */
    UNDELIVERABLE_INJECTED("undeliverable-injected"),
    /** The guest took an async #PF for a regular one, or the reverse. */
    REASON_CONFUSION("reason-confusion"),
    /** A prefault installed a mapping in an MMU context other than the fault's. */
    PREFAULT_WRONG_CONTEXT("prefault-wrong-context"),
    /** HLT returned at once again and again: done items pending that can never be dequeued (100% CPU). */
    HLT_BUSY_LOOP("hlt-busy-loop"),
    /**
     * A vCPU exited again and again at a high rate while its guest made no progress (no event injected, no block,
     * no script step, operation or task end): reported with the exits per simulated second.
     */
    EXIT_STORM("exit-storm"),
    /**
     * arm64: a data abort was injected while the guest ran a non-reentrant part of its exception entry or exit code
     * (vector stub, kernel_entry before ELR_EL1/SPSR_EL1 are saved, kernel_exit after they are restored), so the
     * interrupted context's return state was overwritten.
     */
    EXCEPTION_STATE_CLOBBERED("exception-state-clobbered"),
    /**
     * The gfn hash does not hold exactly the gfns of the vCPU's outstanding items ({@code kvm_add_async_pf_gfn} at
     * not-present, {@code kvm_del_async_pf_gfn} at page-present).
     */
    GFN_HASH("gfn-hash"),
    /**
     * The guest's wake-all ({@code apf_task_wake_all}) woke a sleeper, or unhashed a dummy node, registered on
     * another CPU: it may only touch the nodes of the CPU that received it ({@code n->cpu == smp_processor_id()}).
     */
    WAKE_ALL_SCOPE("wake-all-scope"),
    /** The run stopped advancing simulated time (a loop of zero-time steps). */
    NO_PROGRESS("no-progress"),
    /**
     * A checked run took more engine events than {@code check.max_events} (deterministic), or more wall time than the
     * checker's watchdog: the model hangs.
     */
    WATCHDOG("watchdog"),
    /**
     * The guest kernel hits no {@code WARN_ON} in its async PF code: s390's {@code pfault_interrupt} warns when a
     * PFAULT_INIT names a task that is not the one running ({@code WARN_ON_ONCE(tsk != current)}) and drops it.
     */
    GUEST_WARNING("guest-warning"),
    /** The guest kernel panicked. */
    GUEST_PANIC("guest-panic");

    private final String key;

    Invariant(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static Invariant fromKey(String k) {
        for (Invariant i : values()) {
            if (i.key.equals(k)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown invariant " + k);
    }
}
