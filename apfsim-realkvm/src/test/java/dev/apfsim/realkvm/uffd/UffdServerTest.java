package dev.apfsim.realkvm.uffd;

import dev.apfsim.realkvm.ffi.Libc;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The server on plain memory touched by a Java thread (no KVM needed; userfaultfd must be permitted). */
class UffdServerTest {
    private static final long GPA = 0x200000;

    @BeforeAll
    static void userfaultfdIsPermitted() {
        long fd;
        try {
            fd = Libc.syscall(Libc.SYS_USERFAULTFD, Libc.O_CLOEXEC, 0, 0);
        } catch (LinkageError e) {
            fd = -1; // not Linux/glibc
        }
        assumeTrue(fd >= 0, "userfaultfd is not permitted here (needs root or vm.unprivileged_userfaultfd=1)");
        Libc.closeQuietly((int) fd);
    }

    private static MemorySegment anon(long pages) {
        return Libc.mmap(0, pages * UffdServer.PAGE, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
    }

    /** The answer wakes the faulting thread before the server has logged it. */
    private static java.util.List<ServiceRecord> services(UffdServer s) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (s.services().isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        return s.services();
    }

    @Test
    void aCopyAfterTheLatencyFillsThePageWithItsAddresses() {
        MemorySegment m = anon(4);
        try (UffdServer s = new UffdServer()) {
            s.register("r", m, GPA, new Backing.Copy(20_000_000));
            int tid = Libc.gettid();
            s.setVcpuThreads(Map.of(tid, 0));
            s.start();
            long t0 = System.nanoTime();
            long v = m.get(JAVA_LONG, UffdServer.PAGE + 8); // blocks in the fault until the copy
            long waited = System.nanoTime() - t0;
            assertEquals(GPA + UffdServer.PAGE + 8, v);
            assertTrue(waited >= 15_000_000, "served after the latency: " + waited);
            FaultRecord f = s.faults().getFirst();
            assertEquals(GPA + UffdServer.PAGE, f.gpa());
            assertEquals(tid, f.tid());
            assertTrue(f.synchronous(), "this thread was declared a vCPU thread");
            assertEquals("copy", services(s).getFirst().action());
            assertEquals(0, services(s).getFirst().result());
        } finally {
            Libc.munmap(m.address(), m.byteSize());
        }
    }

    @Test
    void unregisterLeavesAZeroPage() {
        MemorySegment m = anon(1);
        try (UffdServer s = new UffdServer()) {
            s.register("r", m, GPA, new Backing.Unregister(5_000_000));
            s.start();
            assertEquals(0, m.get(JAVA_LONG, 0));
            assertFalse(s.faults().getFirst().synchronous(), "no vCPU threads declared: another thread");
            assertEquals("unregister", services(s).getFirst().action());
        } finally {
            Libc.munmap(m.address(), m.byteSize());
        }
    }
}
