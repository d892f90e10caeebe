package dev.apfsim.guest;

/** A guest task pinned to one CPU, with its program, its scheduling state and what it achieved. */
public final class Task extends Context {
    public enum State { RUNNABLE, RUNNING, APF_SLEEP, SLEEP, DONE, KILLED }

    public final int id;
    public final String name;
    public final int cpu;
    final Program program;
    State state = State.RUNNABLE;
    boolean kernelMode;
    boolean interruptFlag = true;
    /** The task (an L1 vCPU thread) was running its L2 when it stopped. */
    boolean inL2;
    long sliceStart;
    /** CFS: vruntime = userNs + kernelNs + this (the placement offsets of {@code place_entity}). */
    long vruntimeOffset;
    /** CFS: userNs + kernelNs when it was last picked ({@code prev_sum_exec_runtime}). */
    long execAtPick;
    long sleepStart;
    long sleepToken;
    /** The page-ready that woke it carried the error flag (seed 004 patch 2): SIGBUS on return to user. */
    boolean pendingSigbus;

    // results
    long ops;
    long userNs;
    long kernelNs;
    /**
     * Kernel time of the handlers that run in this task's context: its page faults (and arm64 SDEI events) and the
     * return path when it is switched in. Linux charges it to the task ({@code account_system_time}: p->stime);
     * interrupt handlers are hardirq time (IRQ_TIME_ACCOUNTING), not the task's. Kept apart from {@link #kernelNs}
     * because the CFS vruntime here is built on user + kernel compute only.
     */
    long handlerNs;
    long apfWaits;
    long killedAt = -1;

    public Task(int id, String name, int cpu, Program program) {
        this.id = id;
        this.name = name;
        this.cpu = cpu;
        this.program = program;
    }

    /** The task's pid (its s390 pfault token): ids count from 0, pids from 1. */
    public long pid() {
        return id + 1L;
    }

    /** Script steps fetched so far (-1 for a statistical task): where the task is in its program. */
    public int programPosition() {
        return program.position();
    }

    public State state() {
        return state;
    }

    public long ops() {
        return ops;
    }

    public long userNs() {
        return userNs;
    }

    /** Kernel-mode time charged to this task: compute in kernel mode plus {@link #handlerNs}. */
    public long kernelNs() {
        return kernelNs + handlerNs;
    }

    public long apfWaits() {
        return apfWaits;
    }

    public long killedAt() {
        return killedAt;
    }

    public long sleepStart() {
        return sleepStart;
    }

    public long sleepToken() {
        return sleepToken;
    }

    /** The task maps {@code gva} (its program's address space). */
    public boolean maps(long gva) {
        return program.maps(gva);
    }

    @Override
    Action fetch() {
        return program.next();
    }
}
