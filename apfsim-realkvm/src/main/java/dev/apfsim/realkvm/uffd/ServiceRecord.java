package dev.apfsim.realkvm.uffd;

/** What the server did about a fault and when (System.nanoTime); {@code result} is 0 or -errno. */
public record ServiceRecord(long timeNs, String region, long gpa, String action, int result) {
}
