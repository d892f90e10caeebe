package dev.apfsim.campaign;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A row file could not be written or read (disk full, permissions, a vanished directory). Every row appended
 * before it is on disk; the message says so, and re-running the same command resumes.
 */
public final class RowIoException extends UncheckedIOException {
    public RowIoException(String message, IOException cause) {
        super(message, cause);
    }
}
