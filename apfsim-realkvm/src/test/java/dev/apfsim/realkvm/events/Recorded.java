package dev.apfsim.realkvm.events;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The traces checked in under src/test/resources: recorded/ from this project's real host, model/ in the model's format. */
public final class Recorded {
    private Recorded() {
    }

    public static List<String> lines(String path) {
        try (InputStream in = Recorded.class.getResourceAsStream("/" + path)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ApfTrace real(String experiment, RunEnd.Kind end) {
        return ApfTrace.fromFtrace("real", lines("recorded/" + experiment + ".trace"), Normaliser.Options.model(236),
                RunEnd.of(end));
    }

    public static List<String> keys(List<ApfEvent> ev) {
        return ev.stream().map(ApfEvent::key).toList();
    }
}
