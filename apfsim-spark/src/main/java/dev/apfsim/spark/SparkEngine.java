package dev.apfsim.spark;

import dev.apfsim.campaign.Campaign;
import dev.apfsim.campaign.CampaignEngine;
import dev.apfsim.campaign.CampaignException;
import dev.apfsim.campaign.CampaignListener;
import dev.apfsim.campaign.Column;
import dev.apfsim.campaign.RowFormat;
import dev.apfsim.campaign.Shard;
import dev.apfsim.campaign.Table;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * Campaign rows computed by Spark executors and written as Parquet (a directory of part files, as Spark writes
 * it; DuckDB reads {@code DIR/*.parquet}). The campaign object itself travels to the executors (it carries each
 * grid point's scenario as YAML), so every executor runs exactly what a local run would.
 *
 * <p>Rows go out in batches, each one Spark job appending its part files: a driver that dies keeps the batches
 * already committed, and the same command resumes from them (rows already in the target, by index and settings
 * hash, are skipped; another campaign's target is refused unless {@code --force}). The answer of a check is the
 * violating row with the lowest index in the whole target, whatever the partitioning.
 */
public final class SparkEngine implements CampaignEngine {
    /** Rows per Spark job at least; a campaign is cut in about ten such batches. */
    static final long MIN_BATCH = 10_000;

    private final SparkSession spark;

    public SparkEngine(SparkSession spark) {
        this.spark = spark;
    }

    @Override
    public String describe(Options o) {
        return "Spark " + spark.sparkContext().master();
    }

    @Override
    public Result run(Campaign c, String target, Options o, CampaignListener listener) throws Exception {
        RowFormat f = o.format() != null ? o.format() : RowFormat.forName(target).orElse(null);
        if (f != RowFormat.PARQUET) {
            throw new CampaignException(target + ": apfsim-spark writes Parquet; name the output *.parquet");
        }
        Table table = c.table();
        StructType schema = schema(table);
        Shard shard = o.shard();
        long total = shard.count(c.size());
        Path path = new Path(target);
        FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
        boolean exists = fs.exists(path) && !o.force();
        if (o.force() && fs.exists(path) && !fs.delete(path, true)) {
            throw new CampaignException(target + ": cannot remove it to start over");
        }
        Existing before = exists ? existing(spark, c, target) : new Existing(new BitSet(), 0, -1, 0);
        List<String> notes = new ArrayList<>();
        long kept = 0;
        for (int i = before.present().nextSetBit(0); i >= 0; i = before.present().nextSetBit(i + 1)) {
            if (shard.contains(i)) {
                kept++;
            }
        }
        if (kept > 0) {
            notes.add(target + ": kept " + kept + " of " + total + " rows from an earlier run");
        }

        LongAccumulator done = spark.sparkContext().longAccumulator("apfsim rows");
        LongAccumulator violations = spark.sparkContext().longAccumulator("apfsim violations");
        MinAccumulator lowest = new MinAccumulator();
        spark.sparkContext().register(lowest, "apfsim lowest violation");
        Broadcast<BitSet> skip = spark.sparkContext().broadcast(before.present(),
                scala.reflect.ClassTag$.MODULE$.apply(BitSet.class));
        long keptFinal = kept;
        Thread poller = Thread.ofPlatform().daemon().name("apfsim-progress").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                listener.progress(keptFinal + done.value(), total, before.violations() + violations.value());
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try {
            int parallelism = Math.max(1, spark.sparkContext().defaultParallelism());
            long batch = Math.max(MIN_BATCH, c.size() / 10);
            for (long from = 0; from < c.size(); from += batch) {
                long until = Math.min(c.size(), from + batch);
                long first = first(shard, from);
                if (first >= until) {
                    continue;
                }
                long rows = (until - 1 - first) / shard.n() + 1;
                long missing = 0;
                for (long i = first; i < until && missing == 0; i += shard.n()) {
                    missing += before.present().get((int) i) ? 0 : 1;
                }
                if (missing == 0) { // all there already: no job (an empty one would still add a part file)
                    continue;
                }
                int slices = (int) Math.max(1, Math.min(rows, parallelism * 4L));
                Dataset<Long> ids = spark.range(first, until, shard.n(), slices).as(Encoders.LONG());
                Compute compute = new Compute(c, skip, done, violations, lowest);
                Dataset<Row> out = ids.mapPartitions(compute, Encoders.row(schema));
                out.write().mode(SaveMode.Append).parquet(target);
            }
        } finally {
            poller.interrupt();
            poller.join();
        }
        long lowestViolation = min(before.lowestViolation(), lowest.value());
        listener.progress(keptFinal + done.value(), total, before.violations() + violations.value());
        return new Result(total, kept, done.value(), before.violations() + violations.value(), lowestViolation,
                List.copyOf(notes), sink -> readBack(target, table, sink));
    }

    /** Computes the rows of a partition's indices, skipping those the target has (a static class: no engine). */
    private record Compute(Campaign c, Broadcast<BitSet> skip, LongAccumulator done, LongAccumulator violations,
                           MinAccumulator lowest) implements MapPartitionsFunction<Long, Row> {
        @Override
        public Iterator<Row> call(Iterator<Long> it) {
            BitSet have = skip.value();
            return new Iterator<>() {
                private Long next = advance(it, have);

                @Override
                public boolean hasNext() {
                    return next != null;
                }

                @Override
                public Row next() {
                    dev.apfsim.campaign.Row r = c.run(next);
                    next = advance(it, have);
                    done.add(1);
                    if (c.violated(r.values())) {
                        violations.add(1);
                        lowest.add(r.index());
                    }
                    return RowFactory.create(r.values().toArray());
                }
            };
        }
    }

    private static long first(Shard shard, long from) {
        long r = Math.floorMod(from, shard.n());
        return from + Math.floorMod(shard.k() - r, shard.n());
    }

    /** The next index of the partition not already in the target, or null. */
    private static Long advance(Iterator<Long> it, BitSet skip) {
        while (it.hasNext()) {
            Long i = it.next();
            if (!skip.get(i.intValue())) {
                return i;
            }
        }
        return null;
    }

    private static long min(long a, long b) {
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    /** What a target already holds: its row indices, violations and the lowest violating index. */
    private record Existing(BitSet present, long violations, long lowestViolation, long rows) {
    }

    /**
     * Reads the target's rows on the executors and brings back one long per row, {@code index * 4 + 2 * (settings
     * differ or index out of range) + violated}; the driver then refuses another campaign's target in one line.
     */
    private static Existing existing(SparkSession spark, Campaign c, String target) {
        Dataset<Row> old = spark.read().parquet(target);
        List<String> have = Arrays.asList(old.schema().fieldNames());
        if (!have.equals(c.table().names())) {
            throw new CampaignException(target + " holds rows with other columns than this " + c.kind()
                    + "; use --force to start it over (its rows will be lost), or another target");
        }
        Table table = c.table();
        MapPartitionsFunction<Row, Long> check = it -> {
            List<Long> out = new ArrayList<>();
            while (it.hasNext()) {
                Row r = it.next();
                List<Object> v = new ArrayList<>(table.size());
                for (int i = 0; i < table.size(); i++) {
                    v.add(table.coerce(i, r.get(i)));
                }
                long index = (Long) v.getFirst();
                boolean foreign = index < 0 || index >= c.size()
                        || !c.settingsHash(index).equals(v.get(table.indexOf(Table.SETTINGS_HASH)));
                out.add(Math.max(0, index) * 4 + (foreign ? 2 : 0) + (c.violated(v) ? 1 : 0));
            }
            return out.iterator();
        };
        List<Long> codes = old.mapPartitions(check, Encoders.LONG()).collectAsList();
        BitSet present = new BitSet();
        long violations = 0;
        long lowest = -1;
        for (long code : codes) {
            long index = code / 4;
            if ((code & 2) != 0) {
                throw new CampaignException(target + ": row " + index + " was computed from other settings, or is "
                        + "beyond this " + c.kind() + "'s " + c.size() + " rows (the scenario, the grid or the seeds "
                        + "changed); use --force to start it over (its rows will be lost), or another target");
            }
            if (!present.get((int) index)) {
                present.set((int) index);
                if ((code & 1) != 0) {
                    violations++;
                    lowest = lowest < 0 ? index : Math.min(lowest, index);
                }
            }
        }
        return new Existing(present, violations, lowest, codes.size());
    }

    /** Every row of the target, sorted by index, as campaign rows (for the sweep report). */
    private void readBack(String target, Table table, Consumer<dev.apfsim.campaign.Row> sink) {
        Iterator<Row> it = spark.read().parquet(target).orderBy(Table.RUN).toLocalIterator();
        while (it.hasNext()) {
            Row r = it.next();
            List<Object> v = new ArrayList<>(table.size());
            for (int i = 0; i < table.size(); i++) {
                v.add(table.coerce(i, r.get(i)));
            }
            sink.accept(new dev.apfsim.campaign.Row(v, null));
        }
    }

    static StructType schema(Table t) {
        StructType s = new StructType();
        for (Column c : t.columns()) {
            DataType type = switch (c.type()) {
                case LONG -> DataTypes.LongType;
                case DOUBLE -> DataTypes.DoubleType;
                case STRING -> DataTypes.StringType;
            };
            s = s.add(c.name(), type, true);
        }
        return s;
    }
}
