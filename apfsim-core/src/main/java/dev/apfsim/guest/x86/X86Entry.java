package dev.apfsim.guest.x86;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.arch.x86.X86CpuState;
import dev.apfsim.arch.x86.X86Exit;
import dev.apfsim.arch.x86.X86GuestCode;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.ArchEntry;
import dev.apfsim.guest.Frame;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.GuestCpu;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.guest.Task;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;

/**
 * The x86 entry code of one guest CPU ({@code arch/x86/kernel/kvm.c}, {@code arch/x86/entry}): exceptions through
 * the IDT ({@code exc_page_fault} → {@code kvm_handle_async_pf}, panicking where Linux does), the page-ready vector
 * ({@code sysvec_kvm_asyncpf_interrupt}), the APF MSRs ({@link ApfRegistration}), and L0's async #PF when this guest
 * is itself a hypervisor running an L2 (seed thread 000).
 */
public final class X86Entry extends ArchEntry implements X86GuestCode {
    private final ApfRegistration registration;

    public X86Entry(GuestCpu cpu) {
        super(cpu);
        this.registration = new ApfRegistration(config(), ram(), GuestKernel.APF_AREA_BASE + 64L * id(),
                platform().offersPfVmexit());
    }

    // ---- ArchEntry ----------------------------------------------------------------------------------------

    @Override
    public boolean apfEnabled() {
        return registration.enabled();
    }

    @Override
    public long areaGpa() {
        return registration.areaGpa();
    }

    @Override
    protected Action[] enableActions() {
        return registration.enableActions();
    }

    @Override
    protected Action[] disableActions() {
        return registration.disableActions();
    }

    @Override
    protected void resetRegistration() {
        registration.reset();
    }

    @Override
    protected boolean isPageReadyVector(int vector) {
        return registration.isPageReadyVector(vector);
    }

    @Override
    protected GuestExit execute(long now, Action a) {
        return switch (a) {
            case Action.WrMsr w -> {
                registration.noteMsrWrite(w);
                yield new X86Exit.WrMsr(now, w.msr(), w.value());
            }
            case Action.RdMsr r -> new X86Exit.RdMsr(now, r.msr());
            default -> throw new IllegalStateException("not an x86 instruction: " + a);
        };
    }

    @Override
    protected boolean interceptsPgdWrite() {
        return !((X86CpuState) state()).tdp; // shadow paging intercepts CR3 loads
    }

    // ---- X86GuestCode: what the host injects -----------------------------------------------------------------

    @Override
    public void deliverException(long now, int vector, int errorCode, long cr2) {
        if (state().guestMode) {
            deliverExceptionToL2(cr2);
            return;
        }
        long fault = faultEntered(now());
        Frame f = enter(Frame.Kind.PAGE_FAULT, new Action.Compute(config().pfHandlerNs()),
                new Action.Op((c, t) -> excPageFault(t, cr2, fault)));
        if (vector != ApfMsr.PF_VECTOR) {
            f.clearSteps(); // only #PF is modelled; anything else is acknowledged and ignored
        }
    }

    @Override
    protected void nativePageFault(long now, long address) {
        long fault = faultEntered(now);
        enter(Frame.Kind.PAGE_FAULT, new Action.Compute(config().pfHandlerNs()),
                new Action.Op((c, t) -> excPageFault(t, address, fault)));
    }

    /** The page-ready vector arrived: {@code sysvec_kvm_asyncpf_interrupt} runs after the handler's cost. */
    @Override
    protected void deliverPageReady() {
        enter(Frame.Kind.INTERRUPT, new Action.Compute(config().irqHandlerNs()),
                new Action.Op((c, t) -> pageReadyInterrupt(t)));
    }

    /**
     * An NMI ({@code exc_nmi}): the one the model has is a perf NMI that walks the interrupted task's user stack
     * ({@code perf_callchain_user} → {@code copy_from_user_nmi}), which takes a kernel-mode #PF when that page is not
     * present in the guest's page tables; the NMI-safe copy is fixed up and the handler returns.
     */
    @Override
    public void deliverNmi(long now) {
        enter(Frame.Kind.NMI, new Action.Compute(config().irqHandlerNs()), new Action.RegularFault(NMI_USER_STACK));
    }

    /** The user stack page the NMI handler's callchain walk touches (not present in the guest's page tables). */
    static final long NMI_USER_STACK = 0x7ffffff000L;

    @Override
    public void msrResult(boolean gp, long value) {
        // Linux uses wrmsrl() for the APF MSRs and never reads them back; a #GP is counted by the host (msr_gp)
    }

    // ---- the handlers ---------------------------------------------------------------------------------------

    /**
     * {@code exc_page_fault} → {@code kvm_handle_async_pf} → {@code __kvm_handle_async_pf} (≤5.7:
     * {@code do_async_page_fault}, which also took reason 2 = page ready). {@code fault} names the entry.
     */
    private void excPageFault(long now, long cr2, long fault) {
        Frame f = topFrame();
        if (config().version() == GuestConfig.KernelVersion.V6_12 && config().apf() != GuestConfig.ApfMode.LINUX_LEGACY
                && registration.peekFlags() != 0 && f.savedCpl() == 0) {
            // 6.12.117: the kernel-mode check comes first, on flags it has only peeked at
            if (inNmi()) {
                faultClassified(now, fault, Probe.Site.X86_PF, 0, cr2);
                regularPageFault(now, cr2); // the flags stay for the #PF this NMI interrupted
                return;
            }
            faultClassified(now, fault, Probe.Site.X86_PF, registration.readAndResetFlags(), cr2);
            panic(now, "Host injected async #PF in kernel mode");
            return;
        }
        int flags = registration.readAndResetFlags(); // mainline order from here on
        faultClassified(now, fault, Probe.Site.X86_PF, flags, cr2);
        if (flags == 0) {
            regularPageFault(now, cr2);
            return;
        }
        if (flags == ApfMsr.KVM_PV_REASON_PAGE_READY && config().apf() == GuestConfig.ApfMode.LINUX_LEGACY) {
            taskWake(now, cr2); // ≤5.7: page ready by #PF, no ACK
            return;
        }
        if (!f.savedIf()) {
            panic(now, "Host injected async #PF in interrupt disabled region");
            return;
        }
        if ((flags & ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT) == 0) {
            return; // WARN_ONCE "Unexpected async PF flags"
        }
        if (f.savedCpl() == 0 && config().apf() != GuestConfig.ApfMode.LINUX_LEGACY) {
            panic(now, "Host injected async #PF in kernel mode"); // ≤5.7 guests took them
            return;
        }
        count(Counter.GUEST_PF_ASYNC);
        if (config().pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT || currentTask() == null) {
            return;
        }
        taskWaitSchedule(now, cr2);
    }

    /** {@code sysvec_kvm_asyncpf_interrupt}: EOI, wake, clear the token slot, then ACK. */
    private void pageReadyInterrupt(long now) {
        interruptController().eoi();
        count(Counter.GUEST_APF_IRQS);
        if (!registration.enabled()) {
            return;
        }
        long area = registration.areaGpa();
        long token = Integer.toUnsignedLong(ram().read32(area + ApfMsr.OFFSET_TOKEN));
        // seed 004 patch 2: the page could not be brought in; the woken task gets SIGBUS
        if (ram().read32(area + ApfMsr.OFFSET_PAGEREADY_FLAGS) != 0) {
            ram().write32(area + ApfMsr.OFFSET_PAGEREADY_FLAGS, 0);
            markSigbus(token);
        }
        taskWake(now, token);
        ram().write32(area + ApfMsr.OFFSET_TOKEN, 0);
        topFrame().then(registration.ackAction());
    }

    // ---- nested: this guest is L1 ----------------------------------------------------------------------------

    /**
     * An async #PF taken while L2 ran, forwarded to L1 as a #PF VM-exit (exit qualification = {@code token}).
     */
    @Override
    public void deliverNestedPfExit(long now, long token) {
        long fault = faultEntered(now());
        enter(Frame.Kind.PAGE_FAULT, new Action.Compute(config().pfHandlerNs()),
                new Action.Op((c, t) -> l1HandleAsyncPfExit(t, token, fault)));
    }

    /**
     * KVM as L1 after a #PF VM-exit from L2 ({@code vmx.c: handle_exception_irqoff}, {@code mmu.c:
     * kvm_handle_page_fault}): its own flags say "page not present", so the L1 vCPU thread sleeps on the token
     * until L0's page-ready interrupt wakes it, then resumes L2.
     */
    private void l1HandleAsyncPfExit(long now, long token, long fault) {
        int flags = registration.readAndResetFlags(); // host_apf_flags = kvm_read_and_reset_apf_flags()
        faultClassified(now, fault, Probe.Site.NESTED_EXIT, flags, token);
        if ((flags & ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT) == 0 || currentTask() == null) {
            return; // flags 0: an ordinary #PF exit, reflected to L2 (not modelled further)
        }
        count(Counter.GUEST_PF_ASYNC);
        taskWaitSchedule(now, token);
    }

    /**
     * A #PF injected straight into L2 (before adfe20fb4878, or a migrated nested async #PF that L1 does not
     * intercept): L2 knows nothing of L0's async PF, so it takes the token for a faulting address.
     */
    private void deliverExceptionToL2(long cr2) {
        long fault = faultEntered(now());
        enterInL2(new Action.Compute(config().pfHandlerNs()), new Action.Op((c, t) -> l2PageFault(t, cr2, fault)));
    }

    /** L2's #PF handler: an address its task maps is its own fault, which it fixes; any other is SIGSEGV. */
    private void l2PageFault(long now, long cr2, long fault) {
        faultClassified(now, fault, Probe.Site.L2_PF, 0, cr2);
        Task current = currentTask();
        if (current != null && !current.maps(cr2)) {
            kill(current, now, "SIGSEGV (in L2)", cr2);
        }
    }
}
