package dev.apfsim.guest;

/** A kernel handler running on top of the interrupted context, with that context's IF and CPL to restore. */
public final class Frame extends Context {
    /**
     * PAGE_FAULT also stands for an arm64 data abort; SDEI is an arm64 SDEI event handler (not entered via VBAR);
     * NMI an x86 NMI handler ({@code exc_nmi}), which blocks further NMIs until its IRET; HOTPLUG a CPU hotplug
     * callback run between {@code local_irq_save} and {@code local_irq_restore}.
     */
    public enum Kind { PAGE_FAULT, INTERRUPT, BOOT, SCHED, SDEI, NMI, HOTPLUG }

    final Kind kind;
    /**
     * The steps left, {@code steps[head, head + size)}: the array the frame was entered with (each entry makes its own),
     * copied only when a step is added in front of or after it. A deque of its own per handler entry was one of the
     * run's larger allocations.
     */
    private Action[] steps;
    private int head;
    private int size;
    /** {@link #steps} is this frame's own copy, not the caller's array: it may be written. */
    private boolean owned;
    final boolean savedIf;
    final int savedCpl;
    /** The interrupted context ran in L2: leaving the handler resumes L2 (VMRESUME). */
    final boolean savedL2;

    Frame(Kind kind, boolean savedIf, int savedCpl, boolean savedL2, Action... steps) {
        this.kind = kind;
        this.savedIf = savedIf;
        this.savedCpl = savedCpl;
        this.savedL2 = savedL2;
        this.steps = steps;
        this.size = steps.length;
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
        if (size == 0) {
            return Action.IRET;
        }
        size--;
        return steps[head++];
    }

    /** Inserts a step right after the current one. */
    public void then(Action a) {
        prepend(a);
    }

    /** Adds a step before every step not yet fetched (entry code). */
    public void prepend(Action a) {
        if (head == 0 || !owned) {
            own(4, 0);
        }
        steps[--head] = a;
        size++;
    }

    /** Adds a step after every other one, before the IRET (exit code). */
    public void append(Action a) {
        if (head + size == steps.length || !owned) {
            own(0, 4);
        }
        steps[head + size++] = a;
    }

    /** Ends the compute step this frame is in (a spin loop whose condition came true); no-op otherwise. */
    public void endCompute() {
        if (current instanceof Action.Compute) {
            advance();
        }
    }

    /** Drops the steps not yet fetched: the handler returns at once. */
    public void clearSteps() {
        head += size;
        size = 0;
    }

    /** Copies the steps left into an array of this frame's own, with room before and after them. */
    private void own(int before, int after) {
        Action[] a = new Action[before + size + after];
        System.arraycopy(steps, head, a, before, size);
        steps = a;
        head = before;
        owned = true;
    }
}
