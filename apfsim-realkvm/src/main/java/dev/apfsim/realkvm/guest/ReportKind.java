package dev.apfsim.realkvm.guest;

/**
 * The guest's reports to the VMM: each is an {@code out dx, eax} to its own port (a KVM_EXIT_IO), the value in
 * eax. The VMM logs them with its clock; they are the guest-side events of a run.
 */
public enum ReportKind {
    STEP, END, VIF_REGISTERED, TOUCH_DONE, USER, IN_VALUE, MSR_VALUE,
    PF_CR2, PF_FLAGS, PF_WAIT_BEGIN, PF_WAIT_END, PF_RETURN, PANIC,
    READY_ENTER, READY_TOKEN, READY_ZERO, READY_ACK, READY_EOI, READY_EXIT,
    EXC_VECTOR, EXC_ERROR, EXC_RIP, VIF_VALUE;

    public static final int BASE_PORT = 0x500;
    /** The port the guest reads with {@code in}; the VMM answers its clock in µs. */
    public static final int IN_PORT = 0x540;

    /** END values. */
    public static final int END_OK = 0, END_PANIC = 1, END_EXCEPTION = 2;

    public int port() {
        return BASE_PORT + ordinal();
    }

    public static ReportKind ofPort(int port) {
        int i = port - BASE_PORT;
        return i >= 0 && i < values().length ? values()[i] : null;
    }
}
