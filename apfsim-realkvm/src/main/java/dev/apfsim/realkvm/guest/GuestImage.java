package dev.apfsim.realkvm.guest;

import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.LongModeEntry;

import java.util.List;
import java.util.Map;

/**
 * A generated guest: the bytes to place in resident memory, each vCPU's long-mode entry state, and the
 * addresses of the generated labels (to name where a vCPU was when a run ended badly).
 */
public record GuestImage(TestGuest guest, Backend backend, boolean virtualIf, List<Chunk> chunks,
                         List<LongModeEntry> entries, Map<Long, String> symbols) {
    public record Chunk(long gpa, byte[] bytes) {
    }

    /** The nearest generated label at or below {@code rip}, as {@code label+0xoff}. */
    public String symbolize(long rip) {
        long best = -1;
        String name = null;
        for (var e : symbols.entrySet()) {
            if (e.getKey() <= rip && e.getKey() > best) {
                best = e.getKey();
                name = e.getValue();
            }
        }
        return name == null ? String.format("%#x", rip) : String.format("%s+%#x", name, rip - best);
    }
}
