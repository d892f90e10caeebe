package dev.apfsim.guest;

/** The actions of one guest task, produced on demand so long runs need no stored script. */
@FunctionalInterface
public interface Program {
    /** The next action; {@link Action#EXIT} when the task is finished. */
    Action next();

    /**
     * The task's address space ({@code find_vma}): true if {@code gva} lies in memory the task has mapped, so a
     * page fault there is fixed up rather than a SIGSEGV.
     */
    default boolean maps(long gva) {
        return false;
    }

    /** How far a script has got (steps fetched), for the checker's abstract state; -1 for a statistical task. */
    default int position() {
        return -1;
    }
}
