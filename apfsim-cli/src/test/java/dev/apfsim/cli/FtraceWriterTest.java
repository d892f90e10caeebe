package dev.apfsim.cli;

import dev.apfsim.trace.FtraceFormat;
import dev.apfsim.trace.FtraceWriter;
import dev.apfsim.trace.StreamingSink;
import dev.apfsim.trace.TraceEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FtraceWriterTest {
    @TempDir
    Path dir;

    private static final TraceEvent A = new TraceEvent.NotPresent(1_234_567_000L, 0, 0x1000, 0x300000);
    private static final TraceEvent B = new TraceEvent.Completed(1_284_567_000L, 1, 0x7f0000300000L, 0x300000, 1, 0);

    @Test
    void writesOneLinePerEventAndNothingElse() throws IOException {
        Path f = dir.resolve("t.txt");
        try (FtraceWriter w = new FtraceWriter(f)) {
            w.accept(A);
            w.accept(B);
            assertEquals(2, w.lines());
        }
        assertEquals(List.of(FtraceFormat.line(A), FtraceFormat.line(B)), Files.readAllLines(f));
        assertEquals("CPU 0/KVM-1000 [000] 1.234567: kvm_async_pf_not_present: token 0x1000 gva 0x300000",
                Files.readAllLines(f).getFirst());
    }

    @Test
    void flushWritesWholeLinesAndCloseIsFinal() throws IOException {
        Path f = dir.resolve("t.txt");
        FtraceWriter w = new FtraceWriter(f);
        w.accept(A);
        w.flush();
        assertEquals(FtraceFormat.line(A) + "\n", Files.readString(f));
        w.close();
        w.accept(B); // after close (e.g. by the shutdown hook): dropped, no exception
        w.close();
        assertEquals(FtraceFormat.line(A) + "\n", Files.readString(f));
    }

    @Test
    void ioErrorsNameTheFile() {
        Writer broken = new Writer() {
            public void write(char[] c, int off, int len) throws IOException {
                throw new IOException("No space left on device");
            }

            public void flush() {
            }

            public void close() {
            }
        };
        FtraceWriter w = new FtraceWriter(Path.of("full.txt"), broken);
        for (int i = 0; i < 10_000; i++) {
            try {
                w.accept(A);
            } catch (StreamingSink.WriteException e) {
                assertTrue(e.getMessage().contains("full.txt: No space left on device"), e.getMessage());
                assertThrows(StreamingSink.WriteException.class, w::flush);
                return;
            }
        }
        throw new AssertionError("the error was never reported");
    }
}
