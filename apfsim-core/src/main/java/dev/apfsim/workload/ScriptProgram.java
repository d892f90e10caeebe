package dev.apfsim.workload;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.Program;

import java.util.List;

/** A scripted task: its steps in order, an operation counted after each touch, then exit. */
public final class ScriptProgram implements Program {
    private final List<Action> steps;
    private int next;
    private boolean opPending;

    /** Pages the script names (touches, regular faults): its mappings. */
    private final java.util.Set<Long> pages = new java.util.HashSet<>();

    public ScriptProgram(List<Action> steps) {
        this.steps = steps;
        for (Action a : steps) {
            if (a instanceof Action.Touch t) {
                pages.add(t.gva() >>> 12);
            } else if (a instanceof Action.RegularFault f) {
                pages.add(f.address() >>> 12);
            }
        }
    }

    @Override
    public boolean maps(long gva) {
        return pages.contains(gva >>> 12);
    }

    @Override
    public int position() {
        return next;
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
