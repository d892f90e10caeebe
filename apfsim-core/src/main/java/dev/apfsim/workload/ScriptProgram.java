package dev.apfsim.workload;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.Program;

import java.util.List;

/** A scripted task: its steps in order, an operation counted after each touch, then exit. */
public final class ScriptProgram implements Program {
    private final List<Action> steps;
    private int next;
    private boolean opPending;

    public ScriptProgram(List<Action> steps) {
        this.steps = steps;
    }

    @Override
    public Action next() {
        if (opPending) {
            opPending = false;
            return Action.OP_DONE;
        }
        if (next >= steps.size()) {
            return Action.EXIT;
        }
        Action a = steps.get(next++);
        opPending = a instanceof Action.Touch;
        return a;
    }
}
