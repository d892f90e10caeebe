package dev.apfsim.realkvm.guest;

import dev.apfsim.realkvm.guest.TestGuest.*;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.LongModeEntry;
import dev.apfsim.realkvm.x86.Asm;
import dev.apfsim.realkvm.x86.Cond;
import dev.apfsim.realkvm.x86.Label;
import dev.apfsim.realkvm.x86.Mem;
import dev.apfsim.realkvm.x86.Reg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.apfsim.realkvm.guest.GuestLayout.*;
import static dev.apfsim.realkvm.kvm.KvmAbi.*;
import static dev.apfsim.realkvm.x86.Reg.*;

/**
 * Turns a {@link TestGuest} into a runnable image: page tables, per-vCPU GDT/TSS/IDT, and per-vCPU code (the
 * main program, a #PF handler, the page-ready handler, a #UD gate for CPL3 blocks, and stubs that report any
 * other exception and stop).
 *
 * <p>What the backend needs: on kvm_pvm, CPL0 guest code runs in KVM's instruction emulator, where every
 * memory access faults synchronously in the vCPU thread, unless the guest registers a virtual-IF cell with
 * the {@code PVM_HC_SET_VIF_GPA} hypercall and keeps {@code if_} in step with every {@code cli}/{@code sti}.
 * The generator does both when the backend needs it and the guest touches memory at CPL0 (see
 * {@link Options#forGuest}); on VMX/SVM it emits plain {@code cli}/{@code sti}.
 * A CPL3 {@code out} raises #GP on kvm_pvm even with IOPL=3, so CPL3 reports go through the #UD gate
 * ({@code r15}=1, port in edx, value in eax, {@code ud2}) on every backend.
 */
public final class GuestGenerator {
    /** kvm_pvm's hypercall: {@code int $0x1b} at CPL0, rax = PVM_HC_SET_VIF_GPA, rbx = the cell's GPA. */
    static final int PVM_HYPERCALL_VECTOR = 0x1b;
    static final int PVM_HC_SET_VIF_GPA = 0x100c;

    static final int MSR_IA32_APICBASE = 0x1b;
    static final int X2APIC_EOI = 0x80b, X2APIC_SVR = 0x80f;
    /** xAPIC register offsets; the page sits above 2 GiB, so it is reached through a base register. */
    static final int XAPIC_EOI = 0xb0, XAPIC_SVR = 0xf0;
    static final int TOUCH_WRITE_VALUE = 0x5a5a5a5a;

    /** Exceptions that push an error code. */
    private static boolean hasErrorCode(int v) {
        return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
    }

    /**
     * @param virtualIf register and maintain kvm_pvm's virtual-IF cell (so CPL0 code runs natively)
     * @param reportSteps report the index of each main-program step before it runs
     * @param reportVif report the virtual-IF cell at handler entry (a diagnostic of the software backend)
     */
    public record Options(boolean virtualIf, boolean reportSteps, boolean reportVif) {
        /**
         * The virtual-IF cell only where it is needed: on a backend that needs it, for a guest that touches
         * memory at CPL0 (emulated CPL0 accesses never start an async PF). A guest that touches only at CPL3
         * runs its kernel emulated: on kvm_pvm a registered cell also changes the error code of an async #PF
         * injected at CPL3 (0x4 instead of KVM's 0), which an emulated kernel does not see.
         */
        public static Options forGuest(TestGuest g, Backend b) {
            boolean kernelTouch = g.programs().stream().flatMap(List::stream)
                    .anyMatch(s -> s instanceof Touch t && t.cpl() == Cpl.CPL0);
            return new Options(b.needsVirtualIf() && kernelTouch, true, false);
        }
    }

    private final TestGuest g;
    private final Options opt;
    private final Map<Long, String> symbols = new TreeMap<>();

    private GuestGenerator(TestGuest g, Options opt) {
        this.g = g;
        this.opt = opt;
    }

    public static GuestImage generate(TestGuest guest, Backend backend) {
        return generate(guest, backend, Options.forGuest(guest, backend));
    }

    public static GuestImage generate(TestGuest guest, Backend backend, Options options) {
        List<String> problems = guest.problems();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("test guest " + guest.name() + ": " + String.join("; ", problems));
        }
        return new GuestGenerator(guest, options).build(backend);
    }

    private GuestImage build(Backend backend) {
        List<GuestImage.Chunk> chunks = new ArrayList<>();
        chunks.add(pageTables());
        List<LongModeEntry> entries = new ArrayList<>();
        for (int v = 0; v < g.vcpus(); v++) {
            chunks.add(gdt(v));
            chunks.add(tss(v));
            VcpuCode c = new VcpuCode(v);
            byte[] code = c.emit();
            if (code.length > CODE_SIZE) {
                throw new IllegalArgumentException("test guest " + g.name() + ": vCPU " + v + "'s code is "
                        + code.length + " bytes, more than " + CODE_SIZE);
            }
            chunks.add(new GuestImage.Chunk(code(v), code));
            chunks.add(idt(c));
            long base = code(v);
            c.labels.forEach((l, name) -> symbols.put(base + l.offset(), name));
            entries.add(new LongModeEntry(code(v) + c.entry.offset(), kernelStackTop(v),
                    LongModeEntry.RFLAGS_RESERVED,
                    LongModeEntry.CR0_PE | LongModeEntry.CR0_MP | LongModeEntry.CR0_ET | LongModeEntry.CR0_NE
                            | LongModeEntry.CR0_WP | LongModeEntry.CR0_PG,
                    PML4, LongModeEntry.CR4_PAE | LongModeEntry.CR4_OSFXSR | LongModeEntry.CR4_OSXMMEXCPT,
                    LongModeEntry.EFER_LME | LongModeEntry.EFER_LMA, GuestLayout.gdt(v), GDT_ENTRIES * 8 - 1,
                    GuestLayout.idt(v),
                    256 * 16 - 1, SEL_KERNEL_CODE, SEL_KERNEL_DATA, SEL_TSS, GuestLayout.tss(v), 103));
        }
        return new GuestImage(g, backend, opt.virtualIf(), chunks, entries, symbols);
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** PML4 -> PDPT -> two page directories of 2 MiB pages, all P|RW|US. */
    private GuestImage.Chunk pageTables() {
        long p = 1, rw = 2, us = 4, pwt = 8, pcd = 0x10, ps = 0x80;
        ByteBuffer b = le((int) (PD_APIC + 4096 - PML4));
        b.putLong((int) (PML4 - PML4), PDPT | p | rw | us);
        b.putLong((int) (PDPT - PML4), PD_LOW | p | rw | us);
        b.putLong((int) (PDPT - PML4) + 3 * 8, PD_APIC | p | rw | us);
        for (int i = 0; i < 512; i++) {
            b.putLong((int) (PD_LOW - PML4) + i * 8, ((long) i << 21) | p | rw | us | ps);
        }
        int apicIndex = (int) ((XAPIC_BASE - (3L << 30)) >> 21);
        b.putLong((int) (PD_APIC - PML4) + apicIndex * 8, XAPIC_BASE | p | rw | us | pwt | pcd | ps);
        return new GuestImage.Chunk(PML4, b.array());
    }

    /** null, kernel code/data, user data/code (DPL3), and a 64-bit TSS descriptor (busy, as TR is loaded). */
    private GuestImage.Chunk gdt(int v) {
        ByteBuffer b = le(GDT_ENTRIES * 8);
        b.putLong(8, 0x00af9b000000ffffL);
        b.putLong(16, 0x00cf93000000ffffL);
        b.putLong(24, 0x00cff3000000ffffL);
        b.putLong(32, 0x00affb000000ffffL);
        long base = GuestLayout.tss(v);
        long lo = 103 | ((base & 0xffffff) << 16) | (0x8bL << 40) | (((base >> 24) & 0xff) << 56);
        b.putLong(40, lo);
        b.putLong(48, base >>> 32);
        return new GuestImage.Chunk(GuestLayout.gdt(v), b.array());
    }

    /** A 64-bit TSS whose RSP0 is the vCPU's kernel stack (the CPL3 -> CPL0 stack switch) and no I/O bitmap. */
    private GuestImage.Chunk tss(int v) {
        ByteBuffer b = le(104);
        b.putLong(4, kernelStackTop(v));
        b.putShort(0x66, (short) 104);
        return new GuestImage.Chunk(GuestLayout.tss(v), b.array());
    }

    private GuestImage.Chunk idt(VcpuCode c) {
        ByteBuffer b = le(256 * 16);
        for (var e : c.gates.entrySet()) {
            long h = code(c.v) + e.getValue().offset();
            int at = e.getKey() * 16;
            // interrupt gate (type 0xE), present, DPL 0, kernel code selector, IST 0
            long lo = (h & 0xffff) | ((long) SEL_KERNEL_CODE << 16) | (0x8eL << 40) | (((h >>> 16) & 0xffff) << 48);
            b.putLong(at, lo);
            b.putLong(at + 8, h >>> 32);
        }
        return new GuestImage.Chunk(GuestLayout.idt(c.v), b.array());
    }

    /** The code of one vCPU. */
    private final class VcpuCode {
        final int v;
        final Asm a = new Asm();
        final Label entry = new Label("entry");
        final Map<Integer, Label> gates = new TreeMap<>();
        final Map<Label, String> labels = new LinkedHashMap<>();
        final Mem area;
        final Mem token;
        final Mem waiting;
        final Mem vif;
        boolean interruptsOn;

        VcpuCode(int v) {
            this.v = v;
            area = Mem.abs(g.apfArea(v) + APF_DATA_FLAGS);
            token = Mem.abs(g.apfArea(v) + APF_DATA_TOKEN);
            waiting = Mem.abs(waitingToken(v));
            vif = Mem.abs(GuestLayout.vif(v));
        }

        private Label label(String name) {
            Label l = new Label(name);
            labels.put(l, "v" + v + "." + name);
            return l;
        }

        private Label bindNew(String name) {
            Label l = label(name);
            a.bind(l);
            return l;
        }

        byte[] emit() {
            labels.put(entry, "v" + v + ".entry");
            a.bind(entry);
            prologue();
            List<Step> prog = g.programs().get(v);
            int i = 0;
            while (i < prog.size()) {
                if (prog.get(i).cpl() == Cpl.CPL3) {
                    int j = i;
                    while (j < prog.size() && prog.get(j).cpl() == Cpl.CPL3) {
                        j++;
                    }
                    userBlock(prog, i, j);
                    i = j;
                } else {
                    kernelStep(prog.get(i), i);
                    i++;
                }
            }
            if (prog.isEmpty() || !(prog.getLast() instanceof End)) {
                end();
            }
            pageFaultHandler();
            pageReadyHandler();
            invalidOpcodeGate();
            for (int vec = 0; vec < 32; vec++) {
                if (vec != 14 && vec != 6) {
                    gates.put(vec, unexpected(vec));
                }
            }
            return a.assemble(code(v));
        }

        // ------------------------------------------------------------ helpers

        private void report(ReportKind k, int value) {
            a.movImm(RDX, k.port()).movImm(RAX, Integer.toUnsignedLong(value)).outDxEax();
        }

        private void reportReg(ReportKind k, Reg r) {
            if (r != RAX) {
                a.mov(RAX, r);
            }
            a.movImm(RDX, k.port()).outDxEax();
        }

        private void reportMem(ReportKind k, Mem m) {
            a.load32(RAX, m).movImm(RDX, k.port()).outDxEax();
        }

        /** A CPL3 report: through the #UD gate (call 1). */
        private void userReport(ReportKind k, int value) {
            a.movImm(RAX, Integer.toUnsignedLong(value));
            userReportEax(k);
        }

        private void userReportEax(ReportKind k) {
            a.movImm(R15, 1).movImm(RDX, k.port()).ud2();
        }

        private void setInterrupts(boolean on) {
            if (on) {
                if (opt.virtualIf()) {
                    a.storeImm8(vif, 1); // the cell first: the trapping sti then lets a pending interrupt in
                }
                a.sti();
            } else {
                a.cli();
                if (opt.virtualIf()) {
                    a.storeImm8(vif, 0);
                }
            }
        }

        private void eoi() {
            if (g.apic() == ApicMode.X2APIC) {
                a.movImm(RCX, X2APIC_EOI).xor32(RAX, RAX).xor32(RDX, RDX).wrmsr();
            } else {
                a.movImm(RCX, XAPIC_BASE).storeImm32(Mem.at(RCX, XAPIC_EOI), 0);
            }
        }

        private void wrmsr(int msr, long value) {
            a.movImm(RCX, Integer.toUnsignedLong(msr)).movImm(RAX, value & 0xffffffffL)
                    .movImm(RDX, value >>> 32).wrmsr();
        }

        private void stop() {
            Label l = label("stopped");
            a.cli().bind(l).hlt().jmp(l);
        }

        // ------------------------------------------------------------ main program

        private void prologue() {
            if (g.apic() == ApicMode.X2APIC) {
                a.movImm(RCX, MSR_IA32_APICBASE).rdmsr().orImm32(RAX, 0xc00).wrmsr(); // EN | EXTD
                wrmsr(X2APIC_SVR, 0x1ff);
            } else {
                a.movImm(RCX, XAPIC_BASE).storeImm32(Mem.at(RCX, XAPIC_SVR), 0x1ff);
            }
            if (opt.virtualIf()) {
                a.storeImm8(vif, 0);
                a.movImm(RAX, PVM_HC_SET_VIF_GPA).movImm(RBX, GuestLayout.vif(v)).int_(PVM_HYPERCALL_VECTOR);
                reportReg(ReportKind.VIF_REGISTERED, RAX);
            }
        }

        private void kernelStep(Step s, int index) {
            labels.put(a.here("step" + index), "v" + v + ".step" + index);
            if (opt.reportSteps()) {
                report(ReportKind.STEP, index);
            }
            switch (s) {
                case Touch t -> {
                    touch(t);
                    reportReg(ReportKind.TOUCH_DONE, RAX);
                }
                case Cli c -> {
                    setInterrupts(false);
                    interruptsOn = false;
                }
                case Sti c -> {
                    setInterrupts(true);
                    interruptsOn = true;
                }
                case Pause p -> pauseLoop(p.iterations());
                case Compute c -> computeLoop(c.iterations());
                case WriteMsr w -> wrmsr(w.msr(), w.value());
                case ReadMsr r -> {
                    a.movImm(RCX, Integer.toUnsignedLong(r.msr())).rdmsr();
                    reportReg(ReportKind.MSR_VALUE, RAX);
                }
                case EnableApf e -> {
                    wrmsr(MSR_KVM_ASYNC_PF_INT, g.intVector());
                    wrmsr(MSR_KVM_ASYNC_PF_EN, g.apfArea(v) | e.flags());
                }
                case Report r -> report(ReportKind.USER, r.value());
                case In i -> {
                    a.movImm(RDX, ReportKind.IN_PORT).inEaxDx();
                    reportReg(ReportKind.IN_VALUE, RAX);
                }
                case Hlt h -> a.hlt();
                case End e -> end();
            }
        }

        /** The access: a qword load, or a dword store of a marker; eax ends up with what was read (0 for a write). */
        private void touch(Touch t) {
            Mem m = Mem.abs(t.gva());
            if (t.write()) {
                a.storeImm32(m, TOUCH_WRITE_VALUE).xor32(RAX, RAX);
            } else {
                a.load64(RAX, m);
            }
        }

        private void pauseLoop(int n) {
            a.movImm(RCX, n);
            Label l = a.here("pause");
            a.pause().dec32(RCX).j(Cond.NE, l);
        }

        private void computeLoop(int n) {
            a.movImm(RCX, n).xor32(RAX, RAX);
            Label l = a.here("compute");
            a.add32(RAX, RCX).dec32(RCX).j(Cond.NE, l);
        }

        private void end() {
            report(ReportKind.END, ReportKind.END_OK);
            stop();
        }

        /**
         * Steps {@code [from, to)} at CPL3: {@code iretq} to them with the current IF, then a #UD gate call 0
         * brings the kernel back at {@code resume} (IF cleared by the gate, restored to what it was).
         */
        private void userBlock(List<Step> prog, int from, int to) {
            Label user = label("user" + from);
            Label resume = label("resume" + from);
            a.movLabel(RAX, resume).store64(Mem.abs(resumeKernel(v)), RAX);
            a.pushImm(SEL_USER_DATA).pushImm((int) userStackTop(v))
                    .pushImm((int) (LongModeEntry.RFLAGS_RESERVED | (interruptsOn ? LongModeEntry.RFLAGS_IF : 0)))
                    .pushImm(SEL_USER_CODE).movLabel(RAX, user).push(RAX).iretq();
            a.bind(user);
            for (int i = from; i < to; i++) {
                Step s = prog.get(i);
                labels.put(a.here("step" + i), "v" + v + ".step" + i);
                if (opt.reportSteps()) {
                    userReport(ReportKind.STEP, i);
                }
                switch (s) {
                    case Touch t -> {
                        touch(t);
                        userReportEax(ReportKind.TOUCH_DONE);
                    }
                    case Pause p -> pauseLoop(p.iterations());
                    case Compute c -> computeLoop(c.iterations());
                    case Report r -> userReport(ReportKind.USER, r.value());
                    default -> throw new IllegalStateException(s + " has no CPL3 form");
                }
            }
            a.xor32(R15, R15).ud2();
            a.bind(resume);
            setInterrupts(interruptsOn);
        }

        // ------------------------------------------------------------ handlers

        /**
         * #PF: flags == KVM_PV_REASON_PAGE_NOT_PRESENT is an async "page not present" (CR2 holds the token);
         * flags are reset to 0 as Linux's kvm_read_and_reset_apf_flags does, then the configured reaction.
         * Any other #PF is unexpected here (everything is mapped) and stops the vCPU.
         */
        private void pageFaultHandler() {
            Label pf = bindNew("pf");
            gates.put(14, pf);
            a.push(RAX).push(RCX).push(RDX).push(R8);
            if (opt.reportVif() && opt.virtualIf()) {
                a.load8(RAX, vif).movImm(RDX, ReportKind.VIF_VALUE.port()).outDxEax();
            }
            a.movFromCr(R8, 2);
            reportReg(ReportKind.PF_CR2, R8);
            a.load32(RCX, area);
            reportReg(ReportKind.PF_FLAGS, RCX);
            Label ordinary = label("pf_ordinary");
            a.cmpImm32(RCX, KVM_PV_REASON_PAGE_NOT_PRESENT).j(Cond.NE, ordinary);
            a.storeImm32(area, 0);
            switch (g.onNotPresent()) {
                case SPIN -> {
                    a.mov(RAX, R8).store32(waiting, RAX);
                    reportReg(ReportKind.PF_WAIT_BEGIN, R8);
                    setInterrupts(true);
                    Label spin = bindNew("pf_spin");
                    a.pause().cmpImm32(waiting, 0).j(Cond.NE, spin);
                    setInterrupts(false);
                    reportReg(ReportKind.PF_WAIT_END, R8);
                }
                case RETURN -> reportReg(ReportKind.PF_RETURN, R8);
                case PANIC -> {
                    reportReg(ReportKind.PANIC, R8);
                    report(ReportKind.END, ReportKind.END_PANIC);
                    stop();
                }
            }
            a.pop(R8).pop(RDX).pop(RCX).pop(RAX).addImm64(RSP, 8).iretq(); // drop the error code
            a.bind(ordinary);
            report(ReportKind.EXC_VECTOR, 14);
            reportMem(ReportKind.EXC_ERROR, Mem.at(RSP, 32));
            reportMem(ReportKind.EXC_RIP, Mem.at(RSP, 40));
            report(ReportKind.END, ReportKind.END_EXCEPTION);
            stop();
        }

        /** The page-ready interrupt: the user's steps in order, each reported. */
        private void pageReadyHandler() {
            Label h = bindNew("page_ready");
            gates.put(g.intVector(), h);
            a.push(RAX).push(RCX).push(RDX).push(R8);
            if (opt.reportVif() && opt.virtualIf()) {
                a.load8(RAX, vif).movImm(RDX, ReportKind.VIF_VALUE.port()).outDxEax();
            }
            report(ReportKind.READY_ENTER, g.intVector());
            for (ReadyStep s : g.pageReady()) {
                switch (s) {
                    case READ_TOKEN -> {
                        a.load32(R8, token);
                        reportReg(ReportKind.READY_TOKEN, R8);
                        // wake the spinning #PF handler: its token, or the broadcast ~0
                        Label wake = label("ready_wake");
                        Label done = label("ready_nowake");
                        a.cmp32(R8, waiting).j(Cond.E, wake).cmpImm32(R8, -1).j(Cond.NE, done);
                        a.bind(wake).storeImm32(waiting, 0);
                        a.bind(done);
                    }
                    case ZERO_TOKEN -> {
                        a.storeImm32(token, 0);
                        report(ReportKind.READY_ZERO, 0);
                    }
                    case ACK -> {
                        wrmsr(MSR_KVM_ASYNC_PF_ACK, 1);
                        report(ReportKind.READY_ACK, 1);
                    }
                    case EOI -> {
                        eoi();
                        report(ReportKind.READY_EOI, 0);
                    }
                }
            }
            report(ReportKind.READY_EXIT, 0);
            a.pop(R8).pop(RDX).pop(RCX).pop(RAX).iretq();
        }

        /**
         * #UD from CPL3 is the user-to-kernel call ({@code int $0x80} comes back as #UD on kvm_pvm): r15 = 0
         * returns to the kernel at the stored resume point, r15 = 1 reports eax to port dx and returns past the
         * {@code ud2}. A #UD at CPL0 is unexpected.
         */
        private void invalidOpcodeGate() {
            Label ud = bindNew("ud_gate");
            gates.put(6, ud);
            Label fromKernel = label("ud_kernel");
            Label reportCall = label("ud_report");
            a.load64(R13, Mem.at(RSP, 8)).andImm32(R13, 3).j(Cond.E, fromKernel);
            a.cmpImm32(R15, 1).j(Cond.E, reportCall);
            a.addImm64(RSP, 40).jmp(Mem.abs(resumeKernel(v)));
            a.bind(reportCall).outDxEax().addImm64(Mem.at(RSP), 2).iretq();
            a.bind(fromKernel);
            unexpectedBody(6);
        }

        private Label unexpected(int vec) {
            Label l = bindNew("exc" + vec);
            unexpectedBody(vec);
            return l;
        }

        private void unexpectedBody(int vec) {
            report(ReportKind.EXC_VECTOR, vec);
            if (hasErrorCode(vec)) {
                reportMem(ReportKind.EXC_ERROR, Mem.at(RSP, 0));
                reportMem(ReportKind.EXC_RIP, Mem.at(RSP, 8));
            } else {
                reportMem(ReportKind.EXC_RIP, Mem.at(RSP, 0));
            }
            report(ReportKind.END, ReportKind.END_EXCEPTION);
            stop();
        }
    }
}
