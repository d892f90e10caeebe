package dev.apfsim.realkvm.guest;

import java.util.Locale;

/** One guest report as the VMM saw it: its clock (System.nanoTime), the vCPU, the kind and eax. */
public record GuestEvent(long timeNs, int vcpu, ReportKind kind, long value) {
    @Override
    public String toString() {
        return String.format("vcpu%d %s 0x%x", vcpu, kind.name().toLowerCase(Locale.ROOT), value);
    }
}
