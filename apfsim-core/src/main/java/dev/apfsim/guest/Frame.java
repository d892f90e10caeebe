package dev.apfsim.guest;

import java.util.ArrayDeque;

/** A kernel handler running on top of the interrupted context, with that context's IF and CPL to restore. */
public final class Frame extends Context {
    /**
     * PAGE_FAULT also stands for an arm64 data abort; SDEI is an arm64 SDEI event handler (not entered via VBAR);
     * NMI an x86 NMI handler ({@code exc_nmi}), which blocks further NMIs until its IRET; HOTPLUG a CPU hotplug
     * callback run between {@code local_irq_save} and {@code local_irq_restore}.
     */
    public enum Kind { PAGE_FAULT, INTERRUPT, BOOT, SCHED, SDEI, NMI, HOTPLUG }

    final Kind kind;
    final ArrayDeque<Action> actions = new ArrayDeque<>(4);
    final boolean savedIf;
    final int savedCpl;
    /** The interrupted context ran in L2: leaving the handler resumes L2 (VMRESUME). */
    final boolean savedL2;

    Frame(Kind kind, boolean savedIf, int savedCpl, boolean savedL2, Action... steps) {
        this.kind = kind;
        this.savedIf = savedIf;
        this.savedCpl = savedCpl;
        this.savedL2 = savedL2;
        for (Action a : steps) {
            actions.addLast(a);
        }
    }

    public Kind kind() {
        return kind;
    }

    /** IF of the interrupted context (what IRET restores). */
    public boolean savedIf() {
        return savedIf;
    }

    /** CPL of the interrupted context. */
    public int savedCpl() {
        return savedCpl;
    }

    @Override
    Action fetch() {
        Action a = actions.pollFirst();
        return a == null ? Action.IRET : a;
    }

    /** Inserts a step right after the current one. */
    public void then(Action a) {
        actions.addFirst(a);
    }

    /** Adds a step before every step not yet fetched (entry code). */
    public void prepend(Action a) {
        actions.addFirst(a);
    }

    /** Adds a step after every other one, before the IRET (exit code). */
    public void append(Action a) {
        actions.addLast(a);
    }

    /** Ends the compute step this frame is in (a spin loop whose condition came true); no-op otherwise. */
    public void endCompute() {
        if (current instanceof Action.Compute) {
            advance();
        }
    }

    /** Drops the steps not yet fetched: the handler returns at once. */
    public void clearSteps() {
        actions.clear();
    }
}
