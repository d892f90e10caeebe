package dev.apfsim.kvm.arm64;

/**
 * The arm64 part of the host set-up.
 *
 * @param injection    how notifications reach the guest and what guards them ({@code host.policy.arm64_injection})
 * @param tokenWrapFix skip token 0 when the id counter wraps, as x86's 6f3c1fc53d86 does
 * @param apfIdStart   initial {@code apf.id} (a test knob, as on x86)
 * @param pageReadyWaitsForAck SDEI: a page-ready waits for the ACK of the previous one, not only for a free slot
 *                     ({@code host.policy.page_ready_waits_for_ack}, as on x86)
 */
public record Arm64Config(Arm64Injection injection, boolean tokenWrapFix, int apfIdStart,
                          boolean pageReadyWaitsForAck) {
    public Arm64Config {
        java.util.Objects.requireNonNull(injection, "injection");
    }

    public Arm64Config(Arm64Injection injection, boolean tokenWrapFix, int apfIdStart) {
        this(injection, tokenWrapFix, apfIdStart, false);
    }
}
