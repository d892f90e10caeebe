package dev.apfsim.cli;

import dev.apfsim.realkvm.RealKvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code apfsim conform}'s exit statuses and its one-line answers, on any machine. */
class ConformCommandTest {
    @AfterEach
    void realDevice() {
        System.clearProperty(RealKvm.DEVICE_PROPERTY);
    }

    @Test
    void withoutKvmTheCommandExits3WithOneLineSayingWhy() {
        System.setProperty(RealKvm.DEVICE_PROPERTY, "/nonexistent/kvm");
        for (String[] args : new String[][] {{"conform", "appc-first-enable"}, {"conform", "--suite"},
                {"conform", "--calibrate"}, {"conform", "appc-sigbus-irq-on", "--json"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(3, r.status(), String.join(" ", args) + ": " + r.err());
            assertEquals("apfsim: no usable KVM here: no /nonexistent/kvm (KVM is not available on this host)\n",
                    r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void oneModeAtATime() {
        Cli.Result none = Cli.run("conform");
        assertEquals(2, none.status());
        assertEquals("apfsim: conform takes one of SCENARIO, --suite or --calibrate\n", none.err());
        assertEquals(2, Cli.run("conform", "appc-irq-off", "--suite").status());
    }

    @Test
    void aScenarioTheRealKvmCannotRunIsBadInputNamingTheField() throws Exception {
        Path f = Files.createTempFile("conform-stat", ".yaml");
        try {
            Files.writeString(f, Cli.BUSY);
            Cli.Result r = Cli.run("conform", f.toString());
            assertEquals(2, r.status(), r.err());
            assertTrue(r.err().startsWith("apfsim: busy: workload.tasks.cpu: conform runs script tasks"), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        } finally {
            Files.delete(f);
        }
    }
}
