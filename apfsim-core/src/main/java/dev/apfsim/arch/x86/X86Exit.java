package dev.apfsim.arch.x86;

import dev.apfsim.arch.ArchExit;

/** The x86-only exits of the model: MSR accesses (the x86 async PF ABI). */
public sealed interface X86Exit extends ArchExit {
    record WrMsr(long at, int msr, long value) implements X86Exit {
    }

    record RdMsr(long at, int msr) implements X86Exit {
    }
}
