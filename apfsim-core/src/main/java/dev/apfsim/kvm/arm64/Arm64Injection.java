package dev.apfsim.kvm.arm64;

/**
 * How the arm64 host tells the guest about async page faults, and what keeps it from doing so at a bad moment
 * ({@code host.policy.arm64_injection}; seed thread 002, "kvm/arm64: Support async page fault").
 */
public enum Arm64Injection {
    /**
     * Gavin Shan's RFCv2 (May 2020): both notifications are injected data aborts; no injection while the guest PC
     * lies in {@code [VBAR_EL1, VBAR_EL1 + no_fault_inst_range)} (default 0x800, set by the guest through the
     * hypercall). Marc Zyngier: "Trying to guess based on the PC won't fly."
     */
    PC_RANGE("pc-range"),
    /** The same data-abort delivery without any PC check: a data abort may land anywhere. */
    UNGUARDED("unguarded"),
    /**
     * The later SDEI-based design (2021-2022): "page not present" is a private SDEI event, which the guest keeps
     * masked while it handles exceptions and which does not go through VBAR_EL1 / ELR_EL1; "page ready" is a PPI
     * acknowledged with an SMCCC call ({@code ASYNC_PF_IRQ_ACK}), taken like any interrupt.
     */
    SDEI("sdei");

    private final String key;

    Arm64Injection(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
