package dev.apfsim.guest.s390;

import dev.apfsim.guest.Task;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The guest-global state of s390 pfault ({@code arch/s390/mm/pfault.c}), shared by every CPU of one guest: the
 * {@code pfault_list} of tasks asleep on a PFAULT_INIT, and each task's {@code thread.pfault_wait}.
 */
public final class PfaultList {
    /** {@code pfault_list}, newest first ({@code list_add}). */
    final List<Task> list = new ArrayList<>();
    /** {@code thread.pfault_wait}: 1 asleep on the list, -1 the completion came first; absent = 0 (looked up only). */
    private final Map<Task, Integer> wait = new IdentityHashMap<>();
    private final dev.apfsim.engine.Simulator sim;

    public PfaultList(dev.apfsim.engine.Simulator sim) {
        this.sim = sim;
    }

    /** A step reads or changes the list (the checker's partial-order reduction: the CPUs share it). */
    void touch() {
        sim.touch(dev.apfsim.engine.Access.S390_PFAULT_LIST);
    }

    /** {@code thread.pfault_wait} of {@code t} for the checker's abstract state (no access recorded). */
    public int pfaultWait(Task t) {
        return wait.getOrDefault(t, 0);
    }

    int waitOf(Task t) {
        touch();
        return wait.getOrDefault(t, 0);
    }

    void setWait(Task t, int v) {
        touch();
        if (v == 0) {
            wait.remove(t);
        } else {
            wait.put(t, v);
        }
    }
}
