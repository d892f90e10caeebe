package dev.apfsim.arch;

/**
 * What the hardware's second-stage translation (x86 EPT/NPT, arm64 stage 2, s390 the host's DAT of guest memory)
 * decides for each guest access: mapped, or the access exits to the host. The machine wiring implements it; the
 * guest sees only the outcome, as a real guest does.
 */
@FunctionalInterface
public interface SecondStage {
    /** Guest frame {@code gfn} is mapped: an access completes without an exit. */
    boolean accessMapped(long gfn);
}
