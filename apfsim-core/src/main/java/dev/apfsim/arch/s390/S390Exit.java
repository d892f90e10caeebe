package dev.apfsim.arch.s390;

import dev.apfsim.arch.ArchExit;

/** The s390 exits of the model. */
public sealed interface S390Exit extends ArchExit {
    /** DIAGNOSE intercept: {@code code} from the instruction, {@code rx} the parameter block's real address. */
    record Diag(long at, int code, long rx) implements S390Exit {
    }
}
