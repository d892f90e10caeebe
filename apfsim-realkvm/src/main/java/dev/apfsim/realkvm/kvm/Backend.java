package dev.apfsim.realkvm.kvm;

/**
 * What serves {@code /dev/kvm} here: hardware VMX or SVM, or a software backend (such as {@code kvm_pvm},
 * which runs guest code at hardware CPL3 under shadow paging). The guest generator and the VMM ask it what
 * the backend needs beyond the generic KVM ABI.
 */
public record Backend(Kind kind, String module) {
    public enum Kind { VMX, SVM, SOFTWARE }

    public static Backend vmx() {
        return new Backend(Kind.VMX, "kvm_intel");
    }

    public static Backend svm() {
        return new Backend(Kind.SVM, "kvm_amd");
    }

    public static Backend pvm() {
        return new Backend(Kind.SOFTWARE, "kvm_pvm");
    }

    /** kvm_pvm runs CPL0 guest code in the instruction emulator unless the guest registers a virtual-IF cell. */
    public boolean needsVirtualIf() {
        return kind == Kind.SOFTWARE && "kvm_pvm".equals(module);
    }

    /** VMX wants a TSS area for real-mode emulation before the first KVM_RUN on hosts without unrestricted guest. */
    public boolean wantsTssAddr() {
        return kind == Kind.VMX;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case VMX -> "VMX (" + module + ")";
            case SVM -> "SVM (" + module + ")";
            case SOFTWARE -> "software backend " + module;
        };
    }
}
