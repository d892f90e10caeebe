package dev.apfsim.realkvm.x86;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny x86-64 emitter: exactly the instructions a test guest needs (page touches, MSR access, interrupt
 * control, port I/O, control transfer, descriptor-table loads), in the encodings GNU {@code as} picks for
 * them, with labels fixed up at {@link #assemble(long)}. Operand sizes are in the method names (32 or 64);
 * 32-bit register writes zero the upper half as the hardware does.
 */
public final class Asm {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final List<Fixup> fixups = new ArrayList<>();

    private enum Kind { REL32, ABS32, ABS64 }

    private record Fixup(int position, Label label, Kind kind) {
    }

    /** Current offset from the start of the buffer. */
    public int position() {
        return out.size();
    }

    public Asm bind(Label l) {
        if (l.bound()) {
            throw new IllegalStateException("label " + l.name() + " bound twice");
        }
        l.position = out.size();
        return this;
    }

    public Label here(String name) {
        Label l = new Label(name);
        bind(l);
        return l;
    }

    /** Resolves every fix-up for code placed at {@code origin}. */
    public byte[] assemble(long origin) {
        byte[] code = out.toByteArray();
        for (Fixup f : fixups) {
            long target = f.label.offset();
            switch (f.kind) {
                case REL32 -> putLE(code, f.position, target - (f.position + 4), 4);
                case ABS32 -> {
                    long a = origin + target;
                    if (a > Integer.MAX_VALUE) {
                        throw new IllegalStateException("label " + f.label + " beyond 2 GiB");
                    }
                    putLE(code, f.position, a, 4);
                }
                case ABS64 -> putLE(code, f.position, origin + target, 8);
            }
        }
        return code;
    }

    private static void putLE(byte[] b, int at, long v, int n) {
        for (int i = 0; i < n; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    // ---------------------------------------------------------------- raw bytes

    private Asm b(int... bytes) {
        for (int x : bytes) {
            out.write(x & 0xff);
        }
        return this;
    }

    private void imm32(long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }

    private void imm64(long v) {
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }

    private void fixup(Label l, Kind k) {
        fixups.add(new Fixup(out.size(), l, k));
        if (k == Kind.ABS64) {
            imm64(0);
        } else {
            imm32(0);
        }
    }

    /** A REX prefix when any of W/R/X/B is needed. */
    private void rex(boolean w, int reg, Reg rm) {
        int r = 0x40 | (w ? 8 : 0) | ((reg & 8) != 0 ? 4 : 0) | (rm != null && rm.extended() ? 1 : 0);
        if (r != 0x40) {
            b(r);
        }
    }

    /** ModRM (+SIB, +displacement) for a memory operand with {@code reg} in the reg field. */
    private void modrm(int reg, Mem m) {
        int r = (reg & 7) << 3;
        if (m.base() == null) {
            b(0x04 | r, 0x25);          // mod=00 rm=100, SIB: no index, base=101 -> disp32
            imm32(m.disp());
            return;
        }
        int base = m.base().low3();
        boolean sib = base == 4;       // rsp/r12 need a SIB byte
        int mod;
        if (m.disp() == 0 && base != 5) { // rbp/r13 with mod=00 would mean disp32/RIP
            mod = 0;
        } else if (m.disp() >= -128 && m.disp() <= 127) {
            mod = 1;
        } else {
            mod = 2;
        }
        b((mod << 6) | r | base);
        if (sib) {
            b(0x24);
        }
        if (mod == 1) {
            b(m.disp());
        } else if (mod == 2) {
            imm32(m.disp());
        }
    }

    private void modrmReg(int reg, Reg rm) {
        b(0xC0 | ((reg & 7) << 3) | rm.low3());
    }

    private static boolean fitsImm8(long v) {
        return v >= -128 && v <= 127;
    }

    // ---------------------------------------------------------------- moves

    /** {@code mov r, imm}: the shortest of mov r32,imm32 / mov r64,simm32 / movabs r64,imm64. */
    public Asm movImm(Reg r, long imm) {
        if (imm >= 0 && imm <= 0xffffffffL) {
            rex(false, 0, r);
            b(0xB8 + r.low3());
            imm32(imm);
        } else if (imm >= Integer.MIN_VALUE && imm <= Integer.MAX_VALUE) {
            rex(true, 0, r);
            b(0xC7);
            modrmReg(0, r);
            imm32(imm);
        } else {
            rex(true, 0, r);
            b(0xB8 + r.low3());
            imm64(imm);
        }
        return this;
    }

    /** {@code movabs r64, label} (the label's absolute address). */
    public Asm movLabel(Reg r, Label l) {
        rex(true, 0, r);
        b(0xB8 + r.low3());
        fixup(l, Kind.ABS64);
        return this;
    }

    /** {@code mov r64, r64}. */
    public Asm mov(Reg dst, Reg src) {
        rex(true, src.code(), dst);
        b(0x89);
        modrmReg(src.code(), dst);
        return this;
    }

    /** {@code mov r32, dword [m]}. */
    public Asm load32(Reg dst, Mem m) {
        rex(false, dst.code(), m.base());
        b(0x8B);
        modrm(dst.code(), m);
        return this;
    }

    /** {@code mov r64, qword [m]}. */
    public Asm load64(Reg dst, Mem m) {
        rex(true, dst.code(), m.base());
        b(0x8B);
        modrm(dst.code(), m);
        return this;
    }

    /** {@code movzx r32, byte [m]}. */
    public Asm load8(Reg dst, Mem m) {
        rex(false, dst.code(), m.base());
        b(0x0F, 0xB6);
        modrm(dst.code(), m);
        return this;
    }

    /** {@code mov dword [m], r32}. */
    public Asm store32(Mem m, Reg src) {
        rex(false, src.code(), m.base());
        b(0x89);
        modrm(src.code(), m);
        return this;
    }

    /** {@code mov qword [m], r64}. */
    public Asm store64(Mem m, Reg src) {
        rex(true, src.code(), m.base());
        b(0x89);
        modrm(src.code(), m);
        return this;
    }

    /** {@code mov dword [m], imm32}. */
    public Asm storeImm32(Mem m, int imm) {
        rex(false, 0, m.base());
        b(0xC7);
        modrm(0, m);
        imm32(imm);
        return this;
    }

    /** {@code mov qword [m], simm32}. */
    public Asm storeImm64(Mem m, int imm) {
        rex(true, 0, m.base());
        b(0xC7);
        modrm(0, m);
        imm32(imm);
        return this;
    }

    /** {@code mov byte [m], imm8}. */
    public Asm storeImm8(Mem m, int imm) {
        rex(false, 0, m.base());
        b(0xC6);
        modrm(0, m);
        b(imm);
        return this;
    }

    /** {@code mov dword [m], label} (the label's absolute address, below 2 GiB). */
    public Asm storeLabel32(Mem m, Label l) {
        rex(false, 0, m.base());
        b(0xC7);
        modrm(0, m);
        fixup(l, Kind.ABS32);
        return this;
    }

    /** {@code mov r64, crN} (N = 0, 2, 3, 4). */
    public Asm movFromCr(Reg dst, int cr) {
        rex(false, 0, dst);
        b(0x0F, 0x20);
        modrmReg(cr, dst);
        return this;
    }

    /** {@code mov crN, r64}. */
    public Asm movToCr(int cr, Reg src) {
        rex(false, 0, src);
        b(0x0F, 0x22);
        modrmReg(cr, src);
        return this;
    }

    // ---------------------------------------------------------------- arithmetic and compares

    private Asm group1(int ext, boolean w, Reg r, long imm) {
        rex(w, 0, r);
        if (r == Reg.RAX && !fitsImm8(imm)) { // the accumulator's short form, as `as` picks it
            b((ext << 3) | 5);
            imm32(imm);
        } else if (fitsImm8(imm)) {
            b(0x83);
            modrmReg(ext, r);
            b((int) imm);
        } else {
            b(0x81);
            modrmReg(ext, r);
            imm32(imm);
        }
        return this;
    }

    private Asm group1(int ext, Mem m, long imm) {
        rex(false, 0, m.base());
        if (fitsImm8(imm)) {
            b(0x83);
            modrm(ext, m);
            b((int) imm);
        } else {
            b(0x81);
            modrm(ext, m);
            imm32(imm);
        }
        return this;
    }

    public Asm addImm64(Reg r, int imm) {
        return group1(0, true, r, imm);
    }

    /** {@code add qword [m], simm}. */
    public Asm addImm64(Mem m, int imm) {
        rex(true, 0, m.base());
        if (fitsImm8(imm)) {
            b(0x83);
            modrm(0, m);
            b(imm);
        } else {
            b(0x81);
            modrm(0, m);
            imm32(imm);
        }
        return this;
    }

    public Asm subImm64(Reg r, int imm) {
        return group1(5, true, r, imm);
    }

    public Asm orImm32(Reg r, int imm) {
        return group1(1, false, r, imm);
    }

    public Asm andImm32(Reg r, int imm) {
        return group1(4, false, r, imm);
    }

    /** {@code cmp r32, imm}. */
    public Asm cmpImm32(Reg r, int imm) {
        return group1(7, false, r, imm);
    }

    /** {@code cmp dword [m], imm}. */
    public Asm cmpImm32(Mem m, int imm) {
        return group1(7, m, imm);
    }

    /** {@code cmp r32a, r32b} (flags of a - b). */
    public Asm cmp32(Reg a, Reg bReg) {
        rex(false, bReg.code(), a);
        b(0x39);
        modrmReg(bReg.code(), a);
        return this;
    }

    /** {@code cmp r32, dword [m]}. */
    public Asm cmp32(Reg a, Mem m) {
        rex(false, a.code(), m.base());
        b(0x3B);
        modrm(a.code(), m);
        return this;
    }

    /** {@code test r32a, r32b}. */
    public Asm test32(Reg a, Reg bReg) {
        rex(false, bReg.code(), a);
        b(0x85);
        modrmReg(bReg.code(), a);
        return this;
    }

    /** {@code xor r32, r32} (zeroes the whole register). */
    public Asm xor32(Reg a, Reg bReg) {
        rex(false, bReg.code(), a);
        b(0x31);
        modrmReg(bReg.code(), a);
        return this;
    }

    /** {@code add r32, r32}. */
    public Asm add32(Reg a, Reg bReg) {
        rex(false, bReg.code(), a);
        b(0x01);
        modrmReg(bReg.code(), a);
        return this;
    }

    public Asm dec32(Reg r) {
        rex(false, 0, r);
        b(0xFF);
        modrmReg(1, r);
        return this;
    }

    public Asm inc32(Reg r) {
        rex(false, 0, r);
        b(0xFF);
        modrmReg(0, r);
        return this;
    }

    /** {@code inc dword [m]}. */
    public Asm inc32(Mem m) {
        rex(false, 0, m.base());
        b(0xFF);
        modrm(0, m);
        return this;
    }

    // ---------------------------------------------------------------- stack

    public Asm push(Reg r) {
        rex(false, 0, r);
        return b(0x50 + r.low3());
    }

    public Asm pop(Reg r) {
        rex(false, 0, r);
        return b(0x58 + r.low3());
    }

    /** {@code push simm} (sign-extended to 64 bits). */
    public Asm pushImm(int imm) {
        if (fitsImm8(imm)) {
            return b(0x6A, imm);
        }
        b(0x68);
        imm32(imm);
        return this;
    }

    /** {@code push qword [m]}. */
    public Asm push(Mem m) {
        rex(false, 0, m.base());
        b(0xFF);
        modrm(6, m);
        return this;
    }

    public Asm pushfq() {
        return b(0x9C);
    }

    public Asm popfq() {
        return b(0x9D);
    }

    // ---------------------------------------------------------------- control transfer

    /** {@code jmp rel32}. */
    public Asm jmp(Label l) {
        b(0xE9);
        fixup(l, Kind.REL32);
        return this;
    }

    /** {@code jcc rel32}. */
    public Asm j(Cond c, Label l) {
        b(0x0F, 0x80 + c.ordinal());
        fixup(l, Kind.REL32);
        return this;
    }

    /** {@code call rel32}. */
    public Asm call(Label l) {
        b(0xE8);
        fixup(l, Kind.REL32);
        return this;
    }

    /** {@code jmp qword [m]}. */
    public Asm jmp(Mem m) {
        rex(false, 0, m.base());
        b(0xFF);
        modrm(4, m);
        return this;
    }

    /** {@code jmp r64}. */
    public Asm jmp(Reg r) {
        rex(false, 0, r);
        b(0xFF);
        modrmReg(4, r);
        return this;
    }

    public Asm ret() {
        return b(0xC3);
    }

    public Asm iretq() {
        return b(0x48, 0xCF);
    }

    /** {@code int imm8}. */
    public Asm int_(int vector) {
        return b(0xCD, vector);
    }

    public Asm ud2() {
        return b(0x0F, 0x0B);
    }

    // ---------------------------------------------------------------- system

    public Asm wrmsr() {
        return b(0x0F, 0x30);
    }

    public Asm rdmsr() {
        return b(0x0F, 0x32);
    }

    public Asm cli() {
        return b(0xFA);
    }

    public Asm sti() {
        return b(0xFB);
    }

    public Asm hlt() {
        return b(0xF4);
    }

    public Asm pause() {
        return b(0xF3, 0x90);
    }

    public Asm nop() {
        return b(0x90);
    }

    public Asm swapgs() {
        return b(0x0F, 0x01, 0xF8);
    }

    /** {@code lgdt [m]}. */
    public Asm lgdt(Mem m) {
        rex(false, 0, m.base());
        b(0x0F, 0x01);
        modrm(2, m);
        return this;
    }

    /** {@code lidt [m]}. */
    public Asm lidt(Mem m) {
        rex(false, 0, m.base());
        b(0x0F, 0x01);
        modrm(3, m);
        return this;
    }

    /** {@code ltr r16}. */
    public Asm ltr(Reg r) {
        rex(false, 0, r);
        b(0x0F, 0x00);
        modrmReg(3, r);
        return this;
    }

    // ---------------------------------------------------------------- port I/O

    /** {@code out dx, eax}. */
    public Asm outDxEax() {
        return b(0xEF);
    }

    /** {@code out dx, al}. */
    public Asm outDxAl() {
        return b(0xEE);
    }

    /** {@code out imm8, al}. */
    public Asm outImmAl(int port) {
        return b(0xE6, port);
    }

    /** {@code in eax, dx}. */
    public Asm inEaxDx() {
        return b(0xED);
    }

    /** {@code in al, dx}. */
    public Asm inAlDx() {
        return b(0xEC);
    }
}
