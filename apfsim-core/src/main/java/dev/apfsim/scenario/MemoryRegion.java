package dev.apfsim.scenario;

/** Initial host state of a guest-physical range. */
public record MemoryRegion(long start, long size, State state) {
    public enum State { UNTOUCHED, RESIDENT, SWAPPED, REMOTE }
}
