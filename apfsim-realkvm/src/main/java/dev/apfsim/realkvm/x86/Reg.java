package dev.apfsim.realkvm.x86;

/** The sixteen general-purpose registers by their encoding number. */
public enum Reg {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15;

    int code() {
        return ordinal();
    }

    boolean extended() {
        return ordinal() >= 8;
    }

    int low3() {
        return ordinal() & 7;
    }
}
