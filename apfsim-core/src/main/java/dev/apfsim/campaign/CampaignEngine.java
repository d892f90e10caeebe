package dev.apfsim.campaign;

import java.util.List;
import java.util.function.Consumer;

/**
 * Computes a campaign's rows into a target and says what it did. {@link LocalEngine} uses this machine's cores and
 * a resumable file; a cluster engine (apfsim-spark) spreads the rows over executors. Either way the rows are the
 * campaign's, so the tables are the same.
 */
public interface CampaignEngine {
    /**
     * How the rows of a shard are to be computed.
     *
     * @param format the target's format, or null to take it from the target's name
     */
    record Options(Shard shard, boolean force, int jobs, RowFormat format) {
    }

    /**
     * What a run of the engine did.
     *
     * @param total           rows in the shard
     * @param kept            of those, rows already in the target and kept
     * @param ran             rows computed now
     * @param violations      rows in the target recording a broken invariant
     * @param lowestViolation the lowest index of such a row in the target, or -1
     * @param notes           one-line remarks for the user (a torn row dropped, rows kept)
     * @param rows            reads every row of the target back, in index order
     */
    record Result(long total, long kept, long ran, long violations, long lowestViolation, List<String> notes,
                  RowSource rows) {
    }

    /** The rows of a finished target, for reports. */
    @FunctionalInterface
    interface RowSource {
        void scan(Consumer<Row> sink);
    }

    /** A short name for messages, such as "4 threads" or "Spark local[2]". */
    String describe(Options o);

    Result run(Campaign campaign, String target, Options options, CampaignListener listener) throws Exception;
}
