package dev.apfsim.campaign;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * {@code apfsim merge}: shards' row files (any mix of CSV, NDJSON and Parquet) into one table sorted by index, the
 * table a one-machine run writes. A row found twice must be the same both times (overlapping shards, a re-run);
 * rows that disagree, or files with other columns, are refused with the file and row named.
 */
public final class Merge {
    /** What went into the merged file: how many rows, the index range and how many indices in it are missing. */
    public record Summary(long rows, long first, long last, long missing, long duplicates) {
    }

    private Merge() {
    }

    public static Summary merge(List<Path> inputs, Path out, boolean force) {
        if (inputs.isEmpty()) {
            throw new CampaignException("nothing to merge: name the row files");
        }
        RowFormat outFormat = RowFormat.require(out.getFileName().toString());
        for (Path in : inputs) {
            if (!Files.isRegularFile(in)) {
                throw new CampaignException(in + ": no such file");
            }
            if (sameFile(in, out)) {
                throw new CampaignException(in + " is both an input and the output; write the merge elsewhere");
            }
        }
        if (Files.exists(out) && !force) {
            throw new CampaignException(out + " exists; use --force to replace it");
        }
        TreeMap<Long, Row> rows = new TreeMap<>();
        Map<Long, Path> from = new TreeMap<>();
        Table table = null;
        Path tableFrom = null;
        long duplicates = 0;
        for (Path in : inputs) {
            RowFormat f = RowFormat.require(in.getFileName().toString());
            Map<Long, Row> mine = new TreeMap<>();
            RowFiles.Scan scan = RowFiles.scan(in, f, r -> mine.put(r.index(), r));
            if (scan.torn()) {
                throw new CampaignException(in + ": its last row is unfinished (a killed run?); resume that run "
                        + "first");
            }
            if (scan.table() == null) {
                continue;
            }
            if (table == null) {
                table = scan.table();
                tableFrom = in;
            } else if (!table.names().equals(scan.table().names())) {
                throw new CampaignException(in + " has other columns than " + tableFrom + ": not shards of one "
                        + "campaign");
            }
            for (Row r : mine.values()) {
                Row had = rows.get(r.index());
                if (had == null) {
                    rows.put(r.index(), r);
                    from.put(r.index(), in);
                } else if (!Objects.equals(had.values(), r.values())) {
                    throw new CampaignException("row " + r.index() + " differs between " + from.get(r.index())
                            + " and " + in + " (settings " + had.get(table, Table.SETTINGS_HASH) + " and "
                            + r.get(table, Table.SETTINGS_HASH) + ")");
                } else {
                    duplicates++;
                    if (had.result() == null && r.result() != null) {
                        rows.put(r.index(), r);
                    }
                }
            }
        }
        if (table == null) {
            throw new CampaignException("the files hold no rows");
        }
        write(out, outFormat, table, rows.values());
        long first = rows.isEmpty() ? -1 : rows.firstKey();
        long last = rows.isEmpty() ? -1 : rows.lastKey();
        long missing = rows.isEmpty() ? 0 : last - first + 1 - rows.size();
        return new Summary(rows.size(), first, last, missing, duplicates);
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes {@code rows} (in order) to {@code out} through a temporary file and a rename. */
    static void write(Path out, RowFormat format, Table table, Iterable<Row> rows) {
        Path tmp = out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            if (format == RowFormat.PARQUET) {
                try (ParquetRows.Writer w = ParquetRows.open(tmp, table, "merge")) {
                    for (Row r : rows) {
                        w.write(r);
                    }
                }
            } else {
                try (Writer w = new BufferedWriter(Files.newBufferedWriter(tmp, StandardCharsets.UTF_8), 1 << 16)) {
                    if (format == RowFormat.CSV) {
                        w.write(TextRows.csvHeader(table));
                    }
                    for (Row r : rows) {
                        w.write(format == RowFormat.CSV ? TextRows.csv(r) : TextRows.ndjson(table, r));
                    }
                }
            }
            try {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // nothing more to clean
            }
            throw new RowIoException("cannot write " + out + ": " + RowFiles.message(e), e);
        }
    }
}
