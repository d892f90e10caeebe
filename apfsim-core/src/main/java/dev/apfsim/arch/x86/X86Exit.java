package dev.apfsim.arch.x86;

import dev.apfsim.arch.ArchExit;

/** The x86-only exits of the model: MSR accesses (the x86 async PF ABI) and port I/O. */
public sealed interface X86Exit extends ArchExit {
    record WrMsr(long at, int msr, long value) implements X86Exit {
    }

    record RdMsr(long at, int msr) implements X86Exit {
    }

    /** {@code out}/{@code in} of 4 bytes at {@code port}: KVM_EXIT_IO, handled by the VMM ({@code value}: out only). */
    record Io(long at, int port, long value, boolean in) implements X86Exit {
    }
}
