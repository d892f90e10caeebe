package dev.apfsim.sim;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.trace.FtraceFormat;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SmokeTest {
    @Test
    void threePagesFromUserfault() {
        var s = TestScenarios.script(GuestConfig.defaults(), KvmConfig.defaults(), 50 * TestScenarios.MS,
                TestScenarios.remote(0x300000, 0x3000), List.of(),
                List.of(new Action.Touch(0x300000, false), new Action.Touch(0x301000, false),
                        new Action.Touch(0x302000, false)));
        Machine m = new Machine(s);
        m.attach(e -> System.out.println(FtraceFormat.line(e)));
        RunResult r = m.run();
        System.out.println(r);
        assertEquals("ok", r.outcome().kind());
        assertEquals(3, r.tasks().get(0).ops());
    }
}
