package dev.apfsim.arch.arm64;

import dev.apfsim.arch.ArchExit;

/** The arm64 exits of the model. */
public sealed interface Arm64Exit extends ArchExit {
    /**
     * HVC #0, an SMCCC call: {@code func} in x0 (e.g. {@code ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID}), {@code arg}
     * the 64-bit parameter (RFCv2 passes it in w1/w2).
     */
    record Hvc(long at, long func, long arg) implements Arm64Exit {
    }
}
