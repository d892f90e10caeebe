package dev.apfsim.metrics;

/** Every path a run can take, counted. Names are stable: they are JSON keys (docs/json.md). */
public enum Counter {
    EPT_VIOLATIONS("ept_violations"),
    MINOR_FAULTS("minor_faults"),
    TRY_ASYNC("try_async_get_page"),
    ASYNC_STARTED("async_pf_started"),
    NOT_PRESENT_INJECTED("not_present_injected"),
    SYNTHETIC_HALTS("synthetic_halts"),
    REPEATED_FAULTS("repeated_faults"),
    SYNC_IRQS_OFF("sync_faults_irqs_off"),
    SYNC_EVENT_PENDING("sync_faults_event_pending"),
    SYNC_NO_LAPIC("sync_faults_no_lapic"),
    SYNC_HLT_IN_GUEST("sync_faults_hlt_in_guest"),
    SYNC_QUEUE_FULL("sync_faults_queue_full"),
    SYNC_ERROR_GFN("sync_faults_error_gfn"),
    SYNC_APF_DISABLED_HOST("sync_faults_host_apf_off"),
    SYNC_APF_NOT_ENABLED("sync_faults_apf_not_enabled"),
    SYNC_KERNEL_MODE("sync_faults_kernel_mode"),
    SYNC_PC_GUARD("sync_faults_pc_guard"),
    SYNC_PREFETCH("sync_faults_prefetch"),
    WORKER_COMPLETED("worker_completed"),
    WORKER_ERRORS("worker_errors"),
    PAGE_READY("page_ready"),
    PAGE_READY_INJECTED("page_ready_injected"),
    PAGE_READY_DEFERRED_PC_GUARD("page_ready_deferred_pc_guard"),
    WAKE_ALLS("wake_alls"),
    ACKS("acks"),
    PREFAULTS("prefaults_fixed"),
    PREFAULTS_SKIPPED("prefaults_skipped"),
    EFAULT_EXITS("efault_exits"),
    HWPOISON_EXITS("hwpoison_exits"),
    QUEUE_DISCARDED("apf_items_discarded"),
    MSR_GP("msr_gp"),
    HLT_EXITS("hlt_exits"),
    IRQ_WINDOW_EXITS("irq_window_exits"),
    VM_EXITS("vm_exits"),
    GUEST_PF_ASYNC("guest_async_pf_handled"),
    GUEST_PF_REGULAR("guest_regular_pf"),
    GUEST_DUMMY_NODES("guest_dummy_nodes"),
    GUEST_IRQS("guest_interrupts"),
    GUEST_APF_IRQS("guest_apf_irqs"),
    GUEST_CONTEXT_SWITCHES("guest_context_switches"),
    TASKS_KILLED("tasks_killed"),
    ERROR_INJECTED("apf_errors_injected");

    private final String key;

    Counter(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
