package dev.apfsim.guest;

/** The actions of one guest task, produced on demand so long runs need no stored script. */
@FunctionalInterface
public interface Program {
    /** The next action; {@link Action#EXIT} when the task is finished. */
    Action next();
}
