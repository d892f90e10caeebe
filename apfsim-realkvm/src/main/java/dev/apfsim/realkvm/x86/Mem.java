package dev.apfsim.realkvm.x86;

/**
 * A memory operand: {@code [base + disp]}, or {@code [disp32]} when there is no base (encoded with a SIB byte,
 * since ModRM's own no-base form means RIP-relative in 64-bit mode).
 */
public record Mem(Reg base, int disp) {
    public static Mem abs(long address) {
        if (address < 0 || address > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("absolute operand beyond 2 GiB: 0x" + Long.toHexString(address));
        }
        return new Mem(null, (int) address);
    }

    public static Mem at(Reg base, int disp) {
        return new Mem(base, disp);
    }

    public static Mem at(Reg base) {
        return new Mem(base, 0);
    }
}
