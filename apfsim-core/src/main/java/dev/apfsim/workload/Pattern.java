package dev.apfsim.workload;

/** Which page of its working set a statistical task touches next. */
public sealed interface Pattern {
    record Uniform() implements Pattern {
    }

    /** Zipf over page ranks with exponent {@code theta} (rank 1 = first page of the working set). */
    record Zipfian(double theta) implements Pattern {
    }

    /** Pages in order, wrapping around. */
    record Sequential() implements Pattern {
    }

    /** A hot {@code hotFraction} of the working set receives {@code hotProbability} of the touches. */
    record HotCold(double hotFraction, double hotProbability) implements Pattern {
    }
}
