package dev.apfsim.guest.s390;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.s390.S390CpuState;
import dev.apfsim.arch.s390.S390Exit;
import dev.apfsim.arch.s390.S390GuestCode;
import dev.apfsim.arch.s390.S390Pfault;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.ArchEntry;
import dev.apfsim.guest.Frame;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.GuestCpu;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.guest.Task;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;
import dev.apfsim.trace.TraceEvent;

/**
 * The s390 entry code of one guest CPU: pfault registration with DIAG 0x258 ({@code pfault_init},
 * {@code pfault_fini}, whose area is the CPU's lowcore token word), the external interruptions through the
 * external new PSW ({@link S390PfaultHandler}), and the pid the scheduler stores in the lowcore on every switch.
 * s390 has no reason word: a program check is always a regular fault to the guest.
 */
public final class S390Entry extends ArchEntry implements S390GuestCode {
    private final S390PfaultHandler pfault;
    /** This CPU's lowcore: {@code __LC_LPP} (token word), {@code __LC_CURRENT_PID} at +4, the refbk at +16. */
    private final long lowcore;
    private boolean enabled;
    private long lastDiagResult = -1;

    /** {@code list} is the guest's {@code pfault_list}, shared by all its CPUs. */
    public S390Entry(GuestCpu cpu, PfaultList list) {
        super(cpu);
        this.pfault = new S390PfaultHandler(this, list);
        this.lowcore = GuestKernel.APF_AREA_BASE + 64L * id();
    }

    // ---- ArchEntry ----------------------------------------------------------------------------------------

    @Override
    public boolean apfEnabled() {
        return enabled;
    }

    @Override
    public long areaGpa() {
        return lowcore;
    }

    @Override
    protected void resetRegistration() {
        enabled = false;
    }

    /** Page-ready is the PFAULT_DONE external interruption, never an interrupt vector. */
    @Override
    protected boolean isPageReadyVector(int vector) {
        return false;
    }

    @Override
    protected void deliverPageReady() {
        throw new IllegalStateException("s390 has no page-ready vector");
    }

    /**
     * s390 {@code pfault_irq_init}: {@code lc->lpp = LPP_MAGIC}, {@code __pfault_init} (DIAG 0x258 with
     * {@code pfault_init_refbk}: token address = this CPU's {@code __LC_LPP}, select = compare = problem state),
     * then, if it returned 0, {@code irq_subclass_register(IRQ_SUBCLASS_SERVICE_SIGNAL)} (CR0 bit 9).
     */
    @Override
    protected Action[] enableActions() {
        if (config().apf() == GuestConfig.ApfMode.NEVER) {
            return new Action[0]; // "nopfault"
        }
        long refbk = lowcore + 16;
        return new Action[]{new Action.Op((c, t) -> {
            ram().write32(lowcore, (int) S390Pfault.LPP_MAGIC); // lowcore.lpp; current_pid follows
            writeRefbk(refbk, S390Pfault.SUBCODE_TOKEN, lowcore, S390Pfault.PSW_MASK_PSTATE,
                    S390Pfault.PSW_MASK_PSTATE, S390Pfault.PF_RES_FIELD);
        }), new Action.Diag(S390Pfault.DIAG_PAGE_REF, refbk), new Action.Op((c, t) -> {
            if (lastDiagResult == S390Pfault.RC_OK) {
                enabled = true;
                ((S390CpuState) state()).cr0ServiceSignal = true;
            }
        })};
    }

    /** {@code __pfault_fini}: DIAG 0x258 CANCEL. */
    @Override
    protected Action[] disableActions() {
        long refbk = lowcore + 16;
        return new Action[]{new Action.Op((c, t) -> {
            writeRefbk(refbk, S390Pfault.SUBCODE_CANCEL, 0, 0, 0, 0);
            enabled = false;
        }), new Action.Diag(S390Pfault.DIAG_PAGE_REF, refbk)};
    }

    /** {@code pfault_cpu_dead} replaces the wake-all. */
    @Override
    protected void wakeAllOffline(long now) {
        pfault.cpuDead(now);
    }

    @Override
    protected GuestExit execute(long now, Action a) {
        if (!(a instanceof Action.Diag d)) {
            throw new IllegalStateException("not an s390 instruction: " + a);
        }
        return new S390Exit.Diag(now, d.code(), d.rx());
    }

    /** s390 has no reason word: its program-check handler never asks the host. */
    @Override
    protected void nativePageFault(long now, long address) {
        long fault = faultEntered(now);
        enter(Frame.Kind.PAGE_FAULT, pfHandlerStep(), new Action.Op((c, t) -> {
            faultClassified(t, fault, Probe.Site.X86_PF, 0, address);
            regularPageFault(t, address);
        }));
    }

    /** {@code __switch_to_asm}: the pid of the task switched in goes to {@code __LC_CURRENT_PID}. */
    @Override
    protected void switchedTo(Task next) {
        ram().write32(lowcore + 4, (int) next.pid());
    }

    /** {@code struct pfault_refbk}, laid out big-endian in guest real storage. */
    private void writeRefbk(long at, int subcode, long tokenAddr, long select, long compare, long zarch) {
        ram().write32(at + S390Pfault.PARM_CODE, (S390Pfault.DIAG_PAGE_REF << 16) | subcode);
        ram().write32(at + S390Pfault.PARM_LEN, (5 << 16) | 2); // refdwlen 5, refversn 2
        ram().write64(at + S390Pfault.PARM_TOKEN_ADDR, tokenAddr);
        ram().write64(at + S390Pfault.PARM_SELECT, select);
        ram().write64(at + S390Pfault.PARM_COMPARE, compare);
        ram().write64(at + S390Pfault.PARM_ZARCH, zarch);
    }

    // ---- S390GuestCode: what the host injects -------------------------------------------------------------

    /** An external interruption through the external new PSW: the registered handler runs after its cost. */
    @Override
    public void deliverExternalInterrupt(long now, int code, int subcode, long param64) {
        count(Counter.GUEST_IRQS);
        enter(Frame.Kind.INTERRUPT, irqHandlerStep(),
                new Action.Op((c, t) -> pfault.pfaultInterrupt(t, code, subcode, param64)));
    }

    /** Ry of the DIAGNOSE the guest made last. */
    @Override
    public void diagResult(long ry) {
        lastDiagResult = ry;
    }

    // ---- for the pfault handler ---------------------------------------------------------------------------

    void countApfIrq() {
        count(Counter.GUEST_APF_IRQS);
    }

    void countAsyncPf() {
        count(Counter.GUEST_PF_ASYNC);
    }

    Task task(long pid) {
        return taskByPid(pid);
    }

    Task current() {
        return currentTask();
    }

    /** PFAULT_DONE found the task asleep: wake it. */
    void woken(Task t, long pid, long now) {
        emit(new TraceEvent.GuestApfWake(now, id(), t.id, pid));
        wakeFromApf(t, now);
    }

    /** A {@code WARN_ON} of the guest kernel: logged, and the guest goes on. */
    void warn(long now, String detail) {
        probe(new dev.apfsim.trace.Probe.GuestWarning(now, id(), detail));
    }

    /** PFAULT_DONE came before PFAULT_INIT. */
    void earlyCompletion(long pid, long now) {
        emit(new TraceEvent.GuestApfWake(now, id(), -1, pid));
    }

    /** PFAULT_INIT after its PFAULT_DONE: the task goes on. */
    void waitSatisfied(Task t, long pid, long now) {
        emit(new TraceEvent.GuestApfWait(now, id(), t.id, pid, true));
    }

    void sleep(Task t, long pid, long now) {
        sleepOnToken(t, pid, now);
    }

    void wake(Task t, long now) {
        wakeFromApf(t, now);
    }
}
