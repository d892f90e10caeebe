package dev.apfsim.engine;

/**
 * Protocol mutants for the checker's mutation campaign (a test switches one on, never a scenario): each is a
 * one-line change a plausible kernel patch could make, guarded at its site by {@link #on}. Off — the normal case —
 * the sites cost one static read. The campaign (MutationCampaignTest) measures whether {@code check} kills each.
 */
public final class Mutants {
    public enum Mutant {
        /** {@code kvm_arch_async_page_present} forgets {@code kvm_del_async_pf_gfn}. */
        KEEP_GFN_IN_HASH,
        /** {@code kvm_arch_can_dequeue_async_page_present} no longer asks {@code apf_pageready_slot_free}. */
        IGNORE_SLOT_BUSY,
        /** {@code alloc_apf_token} no longer skips token 0 when the id wraps. */
        TOKEN_ZERO_ON_WRAP,
        /** {@code kvm_can_deliver_async_pf} no longer refuses CR0.PG=0 (no built-in fixed variant faults with it). */
        DELIVER_WITH_PAGING_OFF,
        /** {@code kvm_can_do_async_pf} no longer refuses a fault with interrupts off. */
        ASYNC_WITH_IRQS_OFF,
        /** the ACK MSR handler forgets to clear {@code pageready_pending}. */
        ACK_KEEPS_PENDING,
        /** {@code kvm_arch_async_page_present} no longer records the failed gfn (seed 004 error_gfn). */
        FORGET_ERROR_GFN,
        /** the guest's page-ready handler does not wake the sleeper ({@code kvm_async_pf_task_wake}). */
        GUEST_SKIPS_WAKE,
        /** the guest's {@code apf_task_wake_all} forgets {@code n->cpu == smp_processor_id()}: it wakes every CPU's sleepers. */
        WAKE_ALL_EVERY_CPU
    }

    private static Mutant active;

    private Mutants() {
    }

    public static boolean on(Mutant m) {
        return active == m;
    }

    /** Test-only: switches {@code m} on for every run started from now on (null: none). */
    public static void activate(Mutant m) {
        active = m;
    }
}
