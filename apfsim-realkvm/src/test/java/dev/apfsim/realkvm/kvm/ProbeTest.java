package dev.apfsim.realkvm.kvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Backend detection from /proc/cpuinfo and /sys/module, on fake trees. */
class ProbeTest {
    @TempDir
    Path root;

    private Backend host(String flags, String... modules) throws IOException {
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(root.resolve("proc/cpuinfo"), "processor\t: 0\nflags\t\t: " + flags + "\n\n");
        for (String m : modules) {
            Files.createDirectories(root.resolve("sys/module").resolve(m).resolve("parameters"));
        }
        Files.createDirectories(root.resolve("sys/module"));
        return Probe.backend(root);
    }

    @Test
    void vmx() throws IOException {
        Backend b = host("fpu vme vmx ept", "kvm", "kvm_intel");
        assertEquals(Backend.Kind.VMX, b.kind());
        assertFalse(b.needsVirtualIf());
        assertTrue(b.wantsTssAddr());
    }

    @Test
    void svm() throws IOException {
        assertEquals(Backend.Kind.SVM, host("fpu svm npt", "kvm", "kvm_amd").kind());
    }

    @Test
    void theSoftwareBackendOfAKvmGuest() throws IOException {
        Backend b = host("fpu hypervisor", "kvm", "kvm_pvm");
        assertEquals(Backend.Kind.SOFTWARE, b.kind());
        assertEquals("kvm_pvm", b.module());
        assertTrue(b.needsVirtualIf());
        assertFalse(b.wantsTssAddr());
        assertEquals("software backend kvm_pvm", b.toString());
    }

    @Test
    void aVmxFlagWithoutKvmIntelIsNotVmx() throws IOException {
        assertEquals("kvm_pvm", host("vmx hypervisor", "kvm", "kvm_pvm").module());
    }

    @Test
    void withoutTheDeviceTheReasonSaysSo() {
        Probe p = Probe.probe(root);
        assertEquals(new Probe.Unusable("no " + root.resolve("dev/kvm") + " (KVM is not available on this host)"), p);
    }

    @Test
    void aDeviceThatIsNotKvmIsUnusableWithTheFailingCall() throws IOException {
        Files.createDirectories(root.resolve("dev"));
        Files.writeString(root.resolve("dev/kvm"), "");
        Probe p = Probe.probe(root);
        assertTrue(p instanceof Probe.Unusable u && u.reason().contains("KVM_GET_API_VERSION: ENOTTY"), p.toString());
    }

    @Test
    void thisHostProbesWithoutThrowing() {
        Probe p = Probe.probe();
        assertNotNull(p.toString());
        if (p instanceof Probe.Unusable u) {
            assertFalse(u.reason().isBlank());
        }
    }
}
