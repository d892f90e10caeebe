package dev.apfsim.realkvm.x86;

/** Condition codes of {@code jcc} (the low nibble of {@code 0F 8x}). */
public enum Cond {
    O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L, GE, LE, G
}
