package dev.apfsim.realkvm.x86;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.function.Consumer;

import static dev.apfsim.realkvm.x86.Reg.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Every encoding is checked against the bytes GNU as 2.40 produced for the instruction in the comment
 * ({@code as --64} with {@code .intel_syntax noprefix}, read back with {@code objdump -d}).
 */
class AsmTest {
    private static void enc(String expectedHex, Consumer<Asm> emit) {
        Asm a = new Asm();
        emit.accept(a);
        assertEquals(expectedHex.replace(" ", ""), HexFormat.of().formatHex(a.assemble(0)));
    }

    @Test
    void moves() {
        enc("b8 34 12 00 00", a -> a.movImm(RAX, 0x1234));                 // mov eax, 0x1234
        enc("41 b9 ff ff ff ff", a -> a.movImm(R9, 0xffffffffL));           // mov r9d, 0xffffffff
        enc("48 c7 c0 ff ff ff ff", a -> a.movImm(RAX, -1));                // mov rax, -1
        enc("48 bb 9a 78 56 34 12 00 00 00", a -> a.movImm(RBX, 0x123456789aL)); // movabs rbx, 0x123456789a
        enc("48 89 d1", a -> a.mov(RCX, RDX));                              // mov rcx, rdx
        enc("49 89 c0", a -> a.mov(R8, RAX));                               // mov r8, rax
        enc("0f 20 d0", a -> a.movFromCr(RAX, 2));                          // mov rax, cr2
        enc("41 0f 20 d0", a -> a.movFromCr(R8, 2));                        // mov r8, cr2
        enc("0f 22 d8", a -> a.movToCr(3, RAX));                            // mov cr3, rax
    }

    @Test
    void loadsAndStores() {
        enc("8b 04 25 00 50 00 00", a -> a.load32(RAX, Mem.abs(0x5000)));       // mov eax, [0x5000]
        enc("44 8b 53 08", a -> a.load32(R10, Mem.at(RBX, 8)));                 // mov r10d, [rbx+8]
        enc("8b 04 24", a -> a.load32(RAX, Mem.at(RSP)));                       // mov eax, [rsp]
        enc("8b 45 00", a -> a.load32(RAX, Mem.at(RBP)));                       // mov eax, [rbp]
        enc("41 8b 84 24 00 02 00 00", a -> a.load32(RAX, Mem.at(R12, 0x200))); // mov eax, [r12+0x200]
        enc("41 8b 45 fc", a -> a.load32(RAX, Mem.at(R13, -4)));                // mov eax, [r13-4]
        enc("48 8b 04 25 08 50 00 00", a -> a.load64(RAX, Mem.abs(0x5008)));    // mov rax, [0x5008]
        enc("0f b6 0c 25 00 60 00 00", a -> a.load8(RCX, Mem.abs(0x6000)));     // movzx ecx, byte [0x6000]
        enc("89 04 25 04 50 00 00", a -> a.store32(Mem.abs(0x5004), RAX));      // mov [0x5004], eax
        enc("4c 89 5f 10", a -> a.store64(Mem.at(RDI, 16), R11));               // mov [rdi+16], r11
        enc("c7 04 25 04 50 00 00 00 00 00 00", a -> a.storeImm32(Mem.abs(0x5004), 0)); // mov dword [0x5004], 0
        enc("48 c7 04 25 00 c0 00 00 ff ff ff ff", a -> a.storeImm64(Mem.abs(0xc000), -1)); // mov qword [0xc000], -1
        enc("c6 04 25 00 60 00 00 01", a -> a.storeImm8(Mem.abs(0x6000), 1));   // mov byte [0x6000], 1
    }

    @Test
    void arithmeticAndCompares() {
        enc("48 83 c4 08", a -> a.addImm64(RSP, 8));                            // add rsp, 8
        enc("48 81 c4 00 01 00 00", a -> a.addImm64(RSP, 0x100));               // add rsp, 0x100
        enc("48 83 ec 28", a -> a.subImm64(RSP, 40));                           // sub rsp, 40
        enc("48 83 04 24 02", a -> a.addImm64(Mem.at(RSP), 2));                 // add qword [rsp], 2
        enc("41 bf 01 00 00 00", a -> a.movImm(R15, 1));                        // mov r15d, 1
        enc("45 31 ff", a -> a.xor32(R15, R15));                                // xor r15d, r15d
        enc("41 83 ff 01", a -> a.cmpImm32(R15, 1));                            // cmp r15d, 1
        enc("48 8b 44 24 28", a -> a.load64(RAX, Mem.at(RSP, 40)));             // mov rax, [rsp+40]
        enc("8b 44 24 20", a -> a.load32(RAX, Mem.at(RSP, 32)));                // mov eax, [rsp+32]
        enc("0d 00 0c 00 00", a -> a.orImm32(RAX, 0xc00));                      // or eax, 0xc00
        enc("83 e0 0f", a -> a.andImm32(RAX, 0xf));                             // and eax, 0xf
        enc("83 f8 01", a -> a.cmpImm32(RAX, 1));                               // cmp eax, 1
        enc("41 81 f8 00 10 00 00", a -> a.cmpImm32(R8, 0x1000));               // cmp r8d, 0x1000
        enc("83 3c 25 00 c0 00 00 00", a -> a.cmpImm32(Mem.abs(0xc000), 0));    // cmp dword [0xc000], 0
        enc("83 3c 25 00 c0 00 00 ff", a -> a.cmpImm32(Mem.abs(0xc000), -1));   // cmp dword [0xc000], 0xffffffff
        enc("81 3c 25 00 c0 00 00 45 23 01 00", a -> a.cmpImm32(Mem.abs(0xc000), 0x12345));
        enc("39 d8", a -> a.cmp32(RAX, RBX));                                   // cmp eax, ebx
        enc("44 3b 04 25 10 c0 00 00", a -> a.cmp32(R8, Mem.abs(0xc010)));      // cmp r8d, [0xc010]
        enc("85 c0", a -> a.test32(RAX, RAX));                                  // test eax, eax
        enc("31 d2", a -> a.xor32(RDX, RDX));                                   // xor edx, edx
        enc("01 c8", a -> a.add32(RAX, RCX));                                   // add eax, ecx
        enc("ff c9", a -> a.dec32(RCX));                                        // dec ecx
        enc("41 ff c1", a -> a.inc32(R9));                                      // inc r9d
        enc("ff 04 25 20 c0 00 00", a -> a.inc32(Mem.abs(0xc020)));             // inc dword [0xc020]
    }

    @Test
    void stack() {
        enc("50", a -> a.push(RAX));
        enc("41 57", a -> a.push(R15));
        enc("5b", a -> a.pop(RBX));
        enc("41 58", a -> a.pop(R8));
        enc("6a 23", a -> a.pushImm(0x23));                                     // push 0x23
        enc("68 56 34 12 00", a -> a.pushImm(0x123456));                        // push 0x123456
        enc("ff 34 25 30 c0 00 00", a -> a.push(Mem.abs(0xc030)));              // push qword [0xc030]
        enc("9c 9d", a -> a.pushfq().popfq());
    }

    @Test
    void systemAndPortInstructions() {
        enc("ff 24 25 40 c0 00 00", a -> a.jmp(Mem.abs(0xc040)));               // jmp qword [0xc040]
        enc("ff e0", a -> a.jmp(RAX));                                          // jmp rax
        enc("c3 48 cf cd 1b 0f 0b", a -> a.ret().iretq().int_(0x1b).ud2());
        enc("0f 30 0f 32 fa fb f4 f3 90 90", a -> a.wrmsr().rdmsr().cli().sti().hlt().pause().nop());
        enc("0f 01 f8", Asm::swapgs);
        enc("0f 01 14 25 00 40 00 00", a -> a.lgdt(Mem.abs(0x4000)));           // lgdt [0x4000]
        enc("0f 01 18", a -> a.lidt(Mem.at(RAX)));                              // lidt [rax]
        enc("0f 00 d8", a -> a.ltr(RAX));                                       // ltr ax
        enc("ef ee e6 80 ed ec", a -> a.outDxEax().outDxAl().outImmAl(0x80).inEaxDx().inAlDx());
    }

    /** The program of j.s: forward and backward rel32 jumps, a call, and absolute label addresses at 0x10000. */
    @Test
    void labelsAreFixedUp() {
        Asm a = new Asm();
        Label start = a.here("start");
        Label fwd = new Label("fwd");
        a.jmp(fwd).j(Cond.NE, start).j(Cond.E, fwd).call(fwd).movLabel(RAX, fwd)
                .storeLabel32(Mem.abs(0xc000), fwd).nop();
        a.bind(fwd).j(Cond.L, start).ret();
        assertEquals(("e9 27 00 00 00 0f 85 f5 ff ff ff 0f 84 1b 00 00 00 e8 16 00 00 00"
                + " 48 b8 2c 00 01 00 00 00 00 00 c7 04 25 00 c0 00 00 2c 00 01 00 90 0f 8c ce ff ff ff c3")
                .replace(" ", ""), HexFormat.of().formatHex(a.assemble(0x10000)));
        assertEquals(0x2c, fwd.offset());
    }

    @Test
    void misuseIsRefused() {
        Asm a = new Asm();
        Label l = a.here("x");
        assertThrows(IllegalStateException.class, () -> a.bind(l));
        Asm b = new Asm();
        b.jmp(new Label("nowhere"));
        assertThrows(IllegalStateException.class, () -> b.assemble(0));
        assertThrows(IllegalArgumentException.class, () -> Mem.abs(1L << 32));
    }
}
