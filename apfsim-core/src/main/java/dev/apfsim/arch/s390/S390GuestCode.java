package dev.apfsim.arch.s390;

import dev.apfsim.arch.GuestCode;

/** The s390 events a guest takes from the host: external interruptions, DIAGNOSE results. */
public interface S390GuestCode extends GuestCode {
    /**
     * An external interruption through the external new PSW: {@code code} in {@code __LC_EXT_INT_CODE},
     * {@code subcode} in {@code __LC_EXT_CPU_ADDR}, {@code param64} in {@code __LC_EXT_PARAMS2}.
     */
    void deliverExternalInterrupt(long now, int code, int subcode, long param64);

    /** Ry of the DIAGNOSE the guest last executed. */
    void diagResult(long ry);
}
