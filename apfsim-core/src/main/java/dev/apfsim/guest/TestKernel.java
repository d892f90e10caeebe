package dev.apfsim.guest;

import java.util.List;
import java.util.Objects;

/**
 * A kvm-unit-tests-style guest kernel described by its handlers instead of a Linux version (scenario
 * {@code guest.kind: test}): it never enables async PF by itself (its scripts do, with {@code enable_apf} or
 * {@code wrmsr}), has no timer tick unless asked, and its two handlers do exactly what is written here.
 *
 * @param apfArea      GPA of vCPU 0's APF area; vCPU n's is 64 bytes further per vCPU (what the handlers read)
 * @param vector       the vector the page-ready handler is installed at
 * @param onNotPresent what the #PF handler does with an async "page not present"
 * @param pageReady    the page-ready handler's steps, in the order they run
 * @param apic         x2APIC (EOI is an MSR write) or xAPIC (EOI is an MMIO write); the model's EOI costs the same
 */
public record TestKernel(long apfArea, int vector, NotPresent onNotPresent, List<ReadyStep> pageReady, Apic apic) {
    public TestKernel {
        Objects.requireNonNull(onNotPresent, "onNotPresent");
        Objects.requireNonNull(apic, "apic");
        pageReady = List.copyOf(pageReady);
    }

    /** vCPU {@code cpu}'s APF area. */
    public long area(int cpu) {
        return apfArea + 64L * cpu;
    }

    /** The #PF handler's reaction to flags == KVM_PV_REASON_PAGE_NOT_PRESENT. */
    public enum NotPresent {
        /** Sleep the task on the token, as Linux's {@code kvm_async_pf_task_wait_schedule} does. */
        SLEEP,
        /** Note the token, set IF=1 and spin (PAUSE) until the page-ready handler has read that token. */
        SPIN,
        /** Return at once: the access is retried while the page is still outstanding. */
        RETURN,
        /** Stop, as Linux ≥ 5.9 does for an async #PF in kernel mode. */
        PANIC
    }

    /** One step of the page-ready handler. */
    public enum ReadyStep {
        /** Read the token word; wake its sleeper, or end the #PF handler's spin on it (or on the all-ones token). */
        READ_TOKEN,
        /** Write 0 to the token word: the slot is free for the next page-ready. */
        ZERO_TOKEN,
        /** {@code wrmsr MSR_KVM_ASYNC_PF_ACK = 1} (an MSR exit): KVM may deliver the next page-ready. */
        ACK,
        /** End of interrupt at the local APIC. */
        EOI
    }

    public enum Apic { X2APIC, XAPIC }
}
