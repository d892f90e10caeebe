package dev.apfsim.guest;

import dev.apfsim.arch.CpuState;

import java.util.ArrayDeque;

/**
 * The kernel handler frames stacked on one CPU's current task, innermost first. Each frame holds the IF, CPL and
 * L1/L2 mode it interrupted, so entering and leaving a frame is where those change. On arm64 each entry and exit
 * also goes through the exception windows, and dropping frames leaves them.
 */
final class HandlerFrames {
    private final ArrayDeque<Frame> stack = new ArrayDeque<>();
    private final CpuState cpu;
    /** The architecture's entry/exit windows (arm64), or null. */
    private final EntryWindows windows;

    HandlerFrames(CpuState cpu, EntryWindows windows) {
        this.cpu = cpu;
        this.windows = windows;
    }

    /** The innermost handler, or null when the task itself runs. */
    Frame top() {
        return stack.peekFirst();
    }

    boolean isEmpty() {
        return stack.isEmpty();
    }

    int depth() {
        return stack.size();
    }

    /** Enters a handler in L1 (an event that arrives while L2 runs exits to L1 first). */
    Frame enter(Frame.Kind kind, Action... steps) {
        Frame f = new Frame(kind, cpu.interruptFlag, cpu.cpl, cpu.guestMode, steps);
        if (windows != null && (kind == Frame.Kind.PAGE_FAULT || kind == Frame.Kind.INTERRUPT)) {
            windows.addEntryAndExit(f, kind, cpu.cpl);
        }
        pushL1(f);
        return f;
    }

    /** Enters the switched-in task's return path (the scheduler's frame, built from the task's saved state). */
    void enterSwitchedIn(Frame sched) {
        if (windows != null && cpu.cpl == 3) {
            windows.addExit(sched); // arm64: the switched-in task returns to EL0 through ret_to_user / kernel_exit
        }
        pushL1(sched);
    }

    /** Enters a handler inside L2 (an exception injected straight into L2: no exit to L1). */
    void enterInL2(Frame f) {
        stack.push(f);
        cpu.interruptShadow = false; // event delivery ends blocking by STI
        cpu.interruptFlag = false;
        cpu.cpl = 0;
    }

    private void pushL1(Frame f) {
        if (f.kind == Frame.Kind.NMI) {
            cpu.nmiBlocked = true; // blocking by NMI until the handler's IRET
        }
        stack.push(f);
        cpu.interruptShadow = false; // event delivery ends blocking by STI
        cpu.interruptFlag = false; // interrupt gates clear IF
        cpu.cpl = 0;
        cpu.guestMode = false;
    }

    /** IRET (ERET on arm64): leave the innermost handler, restoring what it interrupted. */
    void iret() {
        Frame f = stack.pop();
        if (f.kind == Frame.Kind.NMI) {
            cpu.nmiBlocked = false;
        }
        leaveWindows(); // ERET
        cpu.interruptFlag = f.savedIf;
        cpu.cpl = f.savedCpl;
        cpu.guestMode = f.savedL2;
    }

    /** The task blocks inside its handlers: they are unwound into the state the outermost one interrupted. */
    void unwind() {
        Frame bottom = stack.peekLast();
        if (bottom != null) {
            cpu.interruptFlag = bottom.savedIf;
            cpu.cpl = bottom.savedCpl;
            cpu.guestMode = bottom.savedL2;
            stack.clear();
        }
        leaveWindows();
    }

    /** A handler of {@code kind} is on the stack (x86 {@code in_nmi()} for NMI). */
    boolean contains(Frame.Kind kind) {
        for (Frame f : stack) {
            if (f.kind == kind) {
                return true;
            }
        }
        return false;
    }

    /** Drops every handler without restoring anything (task killed, CPU reset). */
    void clear() {
        if (contains(Frame.Kind.NMI)) {
            cpu.nmiBlocked = false;
        }
        stack.clear();
        leaveWindows();
    }

    private void leaveWindows() {
        if (windows != null) {
            windows.leave();
        }
    }
}
