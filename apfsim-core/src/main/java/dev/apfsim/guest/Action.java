package dev.apfsim.guest;

/** One step a guest context executes: a task's program or a kernel handler. */
public sealed interface Action {
    /**
     * Run on the CPU for {@code ns} (user or kernel time, whichever mode the context is in). A value like the records
     * here (equality, text), but a statistical program sets its own anew for each operation ({@link #reuse}): it
     * draws one per operation, the run's most frequent allocation otherwise.
     */
    final class Compute implements Action {
        private long ns;

        public Compute(long ns) {
            this.ns = ns;
        }

        public long ns() {
            return ns;
        }

        /** Only for the program that made it, once the CPU has moved past it (nobody else keeps an action). */
        public Compute reuse(long ns) {
            this.ns = ns;
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Compute c && c.ns == ns;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(ns);
        }

        @Override
        public String toString() {
            return "Compute[ns=" + ns + "]";
        }
    }

    /**
     * Access guest virtual address {@code gva} (= guest physical by default). A value, reused by a statistical
     * program like {@link Compute}.
     */
    final class Touch implements Action {
        private long gva;
        private boolean write;

        public Touch(long gva, boolean write) {
            this.gva = gva;
            this.write = write;
        }

        public long gva() {
            return gva;
        }

        public boolean write() {
            return write;
        }

        /** Only for the program that made it, once the CPU has moved past it (nobody else keeps an action). */
        public Touch reuse(long gva, boolean write) {
            this.gva = gva;
            this.write = write;
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Touch t && t.gva == gva && t.write == write;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(gva) * 31 + Boolean.hashCode(write);
        }

        @Override
        public String toString() {
            return "Touch[gva=" + gva + ", write=" + write + "]";
        }
    }

    record Cli() implements Action {
    }

    record Sti() implements Action {
    }

    /** POPF loading RFLAGS.IF = {@code interruptFlag} (no interrupt shadow, unlike STI). */
    record Popf(boolean interruptFlag) implements Action {
    }

    /** Enter ({@code true}) or leave kernel mode: a system call boundary. */
    record KernelMode(boolean kernel) implements Action {
    }

    /** Execute HLT (returns when an event wakes the vCPU). */
    record Hlt() implements Action {
    }

    record WrMsr(int msr, long value) implements Action {
    }

    record RdMsr(int msr) implements Action {
    }

    /**
     * x86 {@code out} ({@code in}: false) of {@code value} to I/O port {@code port}, or {@code in} from it: a
     * {@code KVM_EXIT_IO} round trip to the VMM.
     */
    record Io(int port, long value, boolean in) implements Action {
    }

    /** HVC #0 (arm64): an SMCCC call with function id {@code func} (x0) and one 64-bit parameter. */
    record Hvc(long func, long arg) implements Action {
    }

    /** DIAGNOSE {@code code} (s390) with the parameter block at real address {@code rx}. */
    record Diag(int code, long rx) implements Action {
    }

    /** MOV to CR0 setting or clearing PG (e.g. an SMM-like excursion). */
    record SetPaging(boolean on) implements Action {
    }

    /** MOV to CR3: switch guest page tables (matters to shadow paging). */
    record SetCr3(long cr3) implements Action {
    }

    /** The guest, acting as an L1 hypervisor, enters ({@code true}) or leaves its L2 guest. */
    record SetGuestMode(boolean l2) implements Action {
    }

    /** A regular guest page fault at {@code address} (guest page table not present; no VM exit under TDP). */
    record RegularFault(long address) implements Action {
    }

    /** Write the LAPIC SPIV software-enable bit. */
    record SetLapicEnabled(boolean on) implements Action {
    }

    /** INIT this vCPU (reset). */
    record Init() implements Action {
    }

    /**
     * CPU hotplug takes this CPU down: its {@code CPUHP_AP_ONLINE_DYN} teardown callback {@code kvm_cpu_down_prepare}
     * runs here (IRQs off, {@code kvm_guest_cpu_offline(false)}, IRQs restored).
     */
    record CpuOffline() implements Action {
    }

    /** CPU hotplug brings this CPU back: {@code kvm_cpu_online} → {@code kvm_guest_cpu_init} with IRQs off. */
    record CpuOnline() implements Action {
    }

    /** Sleep in the guest scheduler for {@code ns} (not an async PF wait). */
    record Sleep(long ns) implements Action {
    }

    /** One unit of the task's work is done. */
    record OpDone() implements Action {
    }

    /** The task exits. */
    record Exit() implements Action {
    }

    /** Kernel logic run at this point (handlers). */
    record Op(GuestOp op) implements Action {
    }

    /** Return from a handler frame. */
    record Iret() implements Action {
    }

    /** Guest kernel code executed by a handler frame. */
    @FunctionalInterface
    interface GuestOp {
        void run(GuestCpu cpu, long now);
    }

    Cli CLI = new Cli();
    Sti STI = new Sti();
    Hlt HLT = new Hlt();
    OpDone OP_DONE = new OpDone();
    Exit EXIT = new Exit();
    Iret IRET = new Iret();
    Init INIT = new Init();
    CpuOffline CPU_OFFLINE = new CpuOffline();
    CpuOnline CPU_ONLINE = new CpuOnline();
    KernelMode TO_KERNEL = new KernelMode(true);
    KernelMode TO_USER = new KernelMode(false);
}
