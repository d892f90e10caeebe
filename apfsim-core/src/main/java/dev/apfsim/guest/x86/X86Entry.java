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
import dev.apfsim.guest.TestKernel;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;

/**
 * The x86 entry code of one guest CPU ({@code arch/x86/kernel/kvm.c}, {@code arch/x86/entry}): exceptions through
 * the IDT ({@code exc_page_fault} → {@code kvm_handle_async_pf}, panicking where Linux does), the page-ready vector
 * ({@code sysvec_kvm_asyncpf_interrupt}), the APF MSRs ({@link ApfRegistration}), and L0's async #PF when this guest
 * is itself a hypervisor running an L2 (seed thread 000).
 */
public final class X86Entry extends ArchEntry implements X86GuestCode {
    /** One iteration of a test guest's spin loop ({@code pause; cmp; jne}: a PAUSE is ~140 cycles on recent cores). */
    static final long SPIN_ITERATION_NS = 40;
    /** A spin is simulated in slices of this many iterations, cut short when the page-ready handler ends it. */
    static final long SPIN_SLICE = 1_000;

    private final ApfRegistration registration;
    /** A test guest's handlers, or null for Linux. */
    private final TestKernel test;
    /** Test guest: the token the #PF handler spins on (its {@code waiting} word), 0 when it does not spin. */
    private long spinToken;
    /** Test guest: the #PF handler frame that spins. */
    private Frame spinFrame;

    public X86Entry(GuestCpu cpu) {
        super(cpu);
        this.test = config().test();
        this.registration = new ApfRegistration(config(), ram(),
                test != null ? test.area(id()) : GuestKernel.APF_AREA_BASE + 64L * id(), platform().offersPfVmexit(),
                platform().offersAsyncPfInt(), platform().offersAsyncPf());
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

    /** The CPU came out of INIT: its LAPIC is software-disabled until {@code setup_local_APIC} writes SPIV. */
    private boolean apicReset;

    /** A test guest's kernel never enables async PF (nor its LAPIC after INIT): its script does. */
    @Override
    protected Action[] enableActions() {
        if (test != null) {
            return new Action[0];
        }
        Action[] enable = registration.enableActions();
        if (!apicReset) {
            return enable;
        }
        apicReset = false; // start_secondary → apic_ap_setup (SPIV enable) before kvm_guest_cpu_init
        Action[] out = new Action[enable.length + 1];
        out[0] = new Action.SetLapicEnabled(true);
        System.arraycopy(enable, 0, out, 1, enable.length);
        return out;
    }

    @Override
    protected Action[] disableActions() {
        return registration.disableActions();
    }

    /**
     * {@code kvm_guest_cpu_offline(false)}: {@code kvm_disable_steal_time}, PV EOI off, migration control off,
     * {@code kvm_pv_disable_apf} (EN = 0 and {@code async_pf_enabled = false}, only if it is enabled),
     * {@code apf_task_wake_all}, {@code kvmclock_disable}; each WRMSR its own exit. The host offers steal time, PV EOI
     * and migration control.
     */
    @Override
    protected Action[] downPrepareActions() {
        java.util.List<Action> a = new java.util.ArrayList<>(java.util.List.of(
                new Action.WrMsr(ApfMsr.MSR_KVM_STEAL_TIME, 0), new Action.WrMsr(ApfMsr.MSR_KVM_PV_EOI_EN, 0),
                new Action.WrMsr(ApfMsr.MSR_KVM_MIGRATION_CONTROL, 0)));
        if (registration.enabled()) {
            a.addAll(java.util.List.of(registration.disableActions()));
        }
        a.add(new Action.Op((c, t) -> wakeAllOffline(t)));
        a.add(new Action.WrMsr(ApfMsr.MSR_KVM_SYSTEM_TIME_NEW, 0));
        return a.toArray(Action[]::new);
    }

    @Override
    protected void resetRegistration() {
        registration.reset();
        apicReset = true;
    }

    @Override
    protected boolean isPageReadyVector(int vector) {
        return test != null ? vector == test.vector() : registration.isPageReadyVector(vector);
    }

    @Override
    protected GuestExit execute(long now, Action a) {
        return switch (a) {
            case Action.WrMsr w -> {
                registration.noteMsrWrite(w);
                yield new X86Exit.WrMsr(now, w.msr(), w.value());
            }
            case Action.RdMsr r -> new X86Exit.RdMsr(now, r.msr());
            case Action.Io io -> new X86Exit.Io(now, io.port(), io.value(), io.in());
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
        Frame f = enter(Frame.Kind.PAGE_FAULT, pfHandlerStep(),
                new Action.Op((c, t) -> pageFault(t, cr2, fault)));
        if (vector != ApfMsr.PF_VECTOR) {
            f.clearSteps(); // only #PF is modelled; anything else is acknowledged and ignored
        }
    }

    @Override
    protected void nativePageFault(long now, long address) {
        long fault = faultEntered(now);
        enter(Frame.Kind.PAGE_FAULT, pfHandlerStep(),
                new Action.Op((c, t) -> pageFault(t, address, fault)));
    }

    /** The page-ready vector arrived: {@code sysvec_kvm_asyncpf_interrupt} runs after the handler's cost. */
    @Override
    protected void deliverPageReady() {
        if (test != null) {
            enter(Frame.Kind.INTERRUPT, testPageReadySteps());
            return;
        }
        enter(Frame.Kind.INTERRUPT, irqHandlerStep(),
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

    private void pageFault(long now, long cr2, long fault) {
        if (test != null) {
            testPageFault(now, cr2, fault);
        } else {
            excPageFault(now, cr2, fault);
        }
    }

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
            if (config().disabledPageReady() == GuestConfig.DisabledPageReady.RELEASE) {
                // the fix: drop the event but free the slot and pageready_pending for after kvm_cpu_online
                ram().write32(registration.areaGpa() + ApfMsr.OFFSET_TOKEN, 0);
                topFrame().then(registration.ackAction());
            }
            return; // Linux: EOI only
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
        enter(Frame.Kind.PAGE_FAULT, pfHandlerStep(),
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
        enterInL2(pfHandlerStep(), new Action.Op((c, t) -> l2PageFault(t, cr2, fault)));
    }

    /** L2's #PF handler: an address its task maps is its own fault, which it fixes; any other is SIGSEGV. */
    private void l2PageFault(long now, long cr2, long fault) {
        faultClassified(now, fault, Probe.Site.L2_PF, 0, cr2);
        Task current = currentTask();
        if (current != null && !current.maps(cr2)) {
            kill(current, now, "SIGSEGV (in L2)", cr2);
        }
    }

    // ---- a test guest's handlers ---------------------------------------------------------------------------

    /**
     * A test guest's #PF handler (kvm-unit-tests style): flags == KVM_PV_REASON_PAGE_NOT_PRESENT is an async
     * "page not present" with the token in CR2; the flags are reset to 0 as {@code kvm_read_and_reset_apf_flags}
     * does, then the configured reaction. Linux's own checks (IF=0 region, kernel mode) are not made: a test
     * guest does only what it is written to do. Any other #PF is a regular one.
     */
    private void testPageFault(long now, long cr2, long fault) {
        long area = test.area(id());
        int flags = ram().read32(area + ApfMsr.OFFSET_FLAGS);
        faultClassified(now, fault, Probe.Site.X86_PF, flags, cr2);
        if (flags != ApfMsr.KVM_PV_REASON_PAGE_NOT_PRESENT) {
            regularPageFault(now, cr2);
            return;
        }
        ram().write32(area + ApfMsr.OFFSET_FLAGS, 0);
        count(Counter.GUEST_PF_ASYNC);
        switch (test.onNotPresent()) {
            case SLEEP -> {
                if (currentTask() != null) {
                    taskWaitSchedule(now, cr2);
                }
            }
            case RETURN -> {
            }
            case PANIC -> panic(now, "test guest: async #PF (token " + Long.toHexString(cr2)
                    + ") and the handler panics on page not present");
            case SPIN -> {
                // waiting = token; sti; 1: pause; cmp waiting, 0; jne 1b; cli; iret
                spinToken = cr2 & 0xffffffffL;
                spinFrame = topFrame();
                spinFrame.then(new Action.Op((c, t) -> spin()));
                spinFrame.then(Action.STI);
            }
        }
    }

    /** One slice of the spin loop, then the check; a cleared {@code waiting} word ends it with {@code cli}. */
    private void spin() {
        if (spinToken == 0) {
            spinFrame.then(Action.CLI);
            spinFrame = null;
            return;
        }
        spinFrame.then(new Action.Op((c, t) -> spin()));
        spinFrame.then(new Action.Compute(SPIN_ITERATION_NS * SPIN_SLICE));
    }

    /** The page-ready handler: the user's steps in the user's order. */
    private Action[] testPageReadySteps() {
        long area = test.area(id());
        java.util.List<Action> steps = new java.util.ArrayList<>();
        steps.add(irqHandlerStep());
        steps.add(new Action.Op((c, t) -> count(Counter.GUEST_APF_IRQS)));
        for (TestKernel.ReadyStep step : test.pageReady()) {
            steps.add(switch (step) {
                case READ_TOKEN -> new Action.Op((c, t) -> readToken(t,
                        Integer.toUnsignedLong(ram().read32(area + ApfMsr.OFFSET_TOKEN))));
                case ZERO_TOKEN -> new Action.Op((c, t) -> ram().write32(area + ApfMsr.OFFSET_TOKEN, 0));
                case ACK -> new Action.WrMsr(ApfMsr.MSR_KVM_ASYNC_PF_ACK, 1);
                case EOI -> new Action.Op((c, t) -> interruptController().eoi());
            });
        }
        return steps.toArray(Action[]::new);
    }

    /** READ_TOKEN: the sleeper of the token wakes, or the spin on it (or on the all-ones broadcast) ends. */
    private void readToken(long now, long token) {
        if (test.onNotPresent() == TestKernel.NotPresent.SLEEP) {
            if (token != 0) {
                taskWake(now, token);
            }
            return;
        }
        if (spinToken != 0 && (token == spinToken || token == WAKE_ALL)) {
            spinToken = 0;
            spinFrame.endCompute();
        }
    }
}
