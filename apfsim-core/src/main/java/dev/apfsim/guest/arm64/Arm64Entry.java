package dev.apfsim.guest.arm64;

import dev.apfsim.arch.GuestExit;
import dev.apfsim.arch.arm64.Arm64Apf;
import dev.apfsim.arch.arm64.Arm64CpuState;
import dev.apfsim.arch.arm64.Arm64Exit;
import dev.apfsim.arch.arm64.Arm64GuestCode;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.ArchEntry;
import dev.apfsim.guest.EntryWindows;
import dev.apfsim.guest.Frame;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.GuestCpu;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.metrics.Counter;
import dev.apfsim.trace.Probe;

/**
 * The arm64 entry code of one guest CPU, as Gavin Shan's RFCv2 guest has it (seed thread 002): async PF enabled
 * with SMCCC calls, both notifications taken as data aborts through VBAR_EL1 (or, with the SDEI design,
 * not-present as an SDEI event and page-ready as a PPI acknowledged with a call), and every exception handler
 * frame run through the non-reentrant windows of the entry code ({@link Arm64ExceptionWindows}): a data abort
 * injected in one of them breaks {@code exception-state-clobbered} and the guest panics.
 */
public final class Arm64Entry extends ArchEntry implements Arm64GuestCode {
    private final Arm64ExceptionWindows windows;
    /** The SDEI-based design: a PPI for page-ready instead of RFCv2's no-fault range. */
    private final boolean sdei;

    private boolean enabled;
    /** struct kvm_vcpu_pv_apf_data is 68 bytes, so the 64-byte aligned per-CPU areas are 128 apart. */
    private long areaGpa;
    private int vectorInUse = -1;
    private long lastHvcResult;

    public Arm64Entry(GuestCpu cpu) {
        super(cpu);
        this.windows = new Arm64ExceptionWindows(this, (Arm64CpuState) state());
        this.sdei = platform().sdeiAsyncPf();
        this.areaGpa = GuestKernel.APF_AREA_BASE + 128L * id();
    }

    // ---- ArchEntry ----------------------------------------------------------------------------------------

    @Override
    public boolean apfEnabled() {
        return enabled;
    }

    @Override
    public long areaGpa() {
        return areaGpa;
    }

    @Override
    protected EntryWindows windows() {
        return windows;
    }

    @Override
    protected void resetRegistration() {
        enabled = false;
    }

    @Override
    protected boolean isPageReadyVector(int vector) {
        return vector == config().apfVector() || (enabled && vector == vectorInUse);
    }

    /** The RFCv2 guest's enabling calls (SDEI design: the PPI instead of the no-fault range). */
    @Override
    protected Action[] enableActions() {
        GuestConfig g = config();
        long flags = switch (g.apf()) {
            case NEVER -> -1;
            case LINUX, LINUX_LEGACY -> Arm64Apf.KVM_ASYNC_PF_ENABLED;
            case CUSTOM -> g.enBits() & (Arm64Apf.KVM_ASYNC_PF_ENABLED | Arm64Apf.KVM_ASYNC_PF_SEND_ALWAYS);
        };
        if (flags < 0) {
            return new Action[0];
        }
        long fn = Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID;
        Action first = sdei ? new Action.Hvc(fn, Arm64Apf.APF_OP_IRQ | g.apfVector())
                : new Action.Hvc(fn, Arm64Apf.APF_OP_NO_FAULT_RANGE | Arm64Apf.DEFAULT_NO_FAULT_INST_RANGE);
        return new Action[]{first, new Action.Hvc(fn, Arm64Apf.APF_OP_ENABLE | areaGpa | flags),
                new Action.Op((c, t) -> {
                    if (lastHvcResult == Arm64Apf.SMCCC_RET_SUCCESS) {
                        ram().write32(areaGpa + Arm64Apf.OFFSET_ENABLED, 1); // apf_data.enabled = 1
                    }
                })};
    }

    /** {@code kvm_pv_disable_apf}: the enable call without the enabled bit. */
    @Override
    protected Action[] disableActions() {
        return new Action[]{new Action.Hvc(Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, Arm64Apf.APF_OP_ENABLE)};
    }

    @Override
    protected GuestExit execute(long now, Action a) {
        if (!(a instanceof Action.Hvc h)) {
            throw new IllegalStateException("not an arm64 instruction: " + a);
        }
        noteHvc(h);
        return new Arm64Exit.Hvc(now, h.func(), h.arg());
    }

    /** A fault on the guest's own page tables is a data abort like any other. */
    @Override
    protected void nativePageFault(long now, long address) {
        long fault = faultEntered(now);
        enter(Frame.Kind.PAGE_FAULT, pfHandlerStep(),
                new Action.Op((c, t) -> arm64AsyncPf(t, address, fault)));
    }

    /** The SDEI design's page-ready PPI: the handler reads the token, wakes, clears it, then ACKs. */
    @Override
    protected void deliverPageReady() {
        enter(Frame.Kind.INTERRUPT, irqHandlerStep(),
                new Action.Op((c, t) -> pageReadyInterrupt(t)));
    }

    // ---- Arm64GuestCode: what the host injects ------------------------------------------------------------

    /**
     * {@code kvm_inject_dabt}: the exception is taken through VBAR_EL1 and overwrites ELR_EL1/SPSR_EL1 with the
     * interrupted context, which is lost inside a non-reentrant window of the entry code.
     */
    @Override
    public void deliverDataAbort(long now, long far) {
        long fault = faultEntered(now);
        if (windows.open()) {
            windows.clobbered(now, far, ram().read32(areaGpa + Arm64Apf.OFFSET_REASON), topFrame());
            return;
        }
        enter(Frame.Kind.PAGE_FAULT, pfHandlerStep(),
                new Action.Op((c, t) -> arm64AsyncPf(t, far, fault)));
    }

    /** An SDEI event: entered at the registered handler with its own saved context, never through VBAR_EL1. */
    @Override
    public void deliverSdeiEvent(long now, long arg) {
        long fault = faultEntered(now());
        enter(Frame.Kind.SDEI, pfHandlerStep(),
                new Action.Op((c, t) -> arm64AsyncPf(t, arg, fault)));
    }

    /** x0 of the hypercall the guest made last (the enable call's result decides {@code apf_data.enabled}). */
    @Override
    public void hvcResult(long x0) {
        lastHvcResult = x0;
    }

    // ---- the handlers ---------------------------------------------------------------------------------------

    /**
     * RFCv2's guest data abort hook (and the SDEI handler): read and clear the reason word, then page not
     * present → sleep on the token ({@code far}), page ready → wake it; reason 0 is an ordinary data abort.
     */
    private void arm64AsyncPf(long now, long far, long fault) {
        int reason = readAndResetReason();
        faultClassified(now, fault, Probe.Site.ARM64_ABORT, reason, far);
        if (reason == 0) {
            regularPageFault(now, far);
            return;
        }
        if (reason == Arm64Apf.KVM_PV_REASON_PAGE_READY) {
            taskWake(now, far);
            return;
        }
        if (reason != Arm64Apf.KVM_PV_REASON_PAGE_NOT_PRESENT) {
            return;
        }
        count(Counter.GUEST_PF_ASYNC);
        if (config().pfHandler() == GuestConfig.PfHandler.RETURN_WITHOUT_WAIT || currentTask() == null) {
            return;
        }
        taskWaitSchedule(now, far);
    }

    /** The SDEI design's page-ready interrupt handler: EOI, wake the token's sleeper, clear the token, ACK. */
    private void pageReadyInterrupt(long now) {
        interruptController().eoi();
        count(Counter.GUEST_APF_IRQS);
        if (!enabled) {
            return;
        }
        long token = Integer.toUnsignedLong(ram().read32(areaGpa + Arm64Apf.OFFSET_TOKEN));
        taskWake(now, token);
        ram().write32(areaGpa + Arm64Apf.OFFSET_TOKEN, 0);
        topFrame().then(new Action.Hvc(Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, Arm64Apf.APF_OP_IRQ_ACK | 1));
    }

    /** The reason word, read and cleared: 0 when async PF is off on this CPU. */
    private int readAndResetReason() {
        if (!enabled) {
            return 0;
        }
        int reason = ram().read32(areaGpa + Arm64Apf.OFFSET_REASON);
        ram().write32(areaGpa + Arm64Apf.OFFSET_REASON, 0);
        return reason;
    }

    /** An async PF SMCCC call is leaving the CPU (which area, whether it enables, which PPI). */
    private void noteHvc(Action.Hvc h) {
        if (h.func() != Arm64Apf.ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID) {
            return;
        }
        long op = h.arg() & Arm64Apf.APF_OP_MASK;
        long val = h.arg() & ~Arm64Apf.APF_OP_MASK;
        if (op == Arm64Apf.APF_OP_ENABLE) {
            enabled = (val & Arm64Apf.KVM_ASYNC_PF_ENABLED) != 0;
            if (enabled) {
                areaGpa = val & ~0x3fL;
            }
        } else if (op == Arm64Apf.APF_OP_IRQ) {
            vectorInUse = (int) (val & 0xff);
        }
    }

    // ---- for the exception windows -------------------------------------------------------------------------

    int cpuId() {
        return id();
    }

    boolean isProbing() {
        return probing();
    }

    void probeClobbered(Probe p) {
        probe(p);
    }

    void panicNow(long now, String message) {
        panic(now, message);
    }
}
