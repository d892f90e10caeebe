package dev.apfsim.campaign;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;

/**
 * A campaign's output file, resumable. Opening it reads the rows already there and keeps those that belong to this
 * campaign (same index, same settings hash); a torn last line left by a kill is dropped, to be redone; a file made
 * by another campaign (other columns, other settings) is refused unless {@code force}, which starts it over.
 * Rows are then appended one by one, each in one write straight to the file, so a kill loses no finished row.
 *
 * <p>Parquet cannot be appended to (its index is at the end), so rows go to a CSV journal beside it
 * ({@code NAME.parquet.partial.csv}); {@link #finish()} writes the Parquet file from it, sorted by index, and
 * removes the journal. An interrupted Parquet campaign resumes from its journal, a finished one from the file.
 */
public final class RowFile implements AutoCloseable {
    private final Path path;
    private final RowFormat format;
    private final Campaign campaign;
    private final Table table;
    private final Path journal;
    private final BitSet present = new BitSet();
    private final FileChannel channel;
    private final FileLock lock;
    private long kept;
    private long violations;
    private long lowestViolation = -1;
    private boolean droppedTornLine;
    private boolean appended;
    private boolean fromParquet;
    private boolean finished;

    private RowFile(Path path, RowFormat format, Campaign campaign, boolean force) {
        if (campaign.size() > Integer.MAX_VALUE) {
            throw new CampaignException("a campaign of " + campaign.size() + " rows is too large for one file; "
                    + "use --shard");
        }
        this.path = path;
        this.format = format;
        this.campaign = campaign;
        this.table = campaign.table();
        this.journal = format == RowFormat.PARQUET ? path.resolveSibling(path.getFileName() + ".partial.csv") : null;
        Path text = journal != null ? journal : path;
        try {
            boolean regular = !Files.exists(text) || Files.isRegularFile(text);
            boolean resumeJournal = journal != null && nonEmpty(journal);
            // lock before reading: rows another writer appends between our reading and our truncating would be lost
            channel = regular
                    ? FileChannel.open(text, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
                    : FileChannel.open(text, StandardOpenOption.WRITE); // a device such as /dev/null
            lock = regular ? lock(channel, text) : null;
            try {
                resume(text, regular, force, resumeJournal);
            } catch (IOException | RuntimeException e) {
                channel.close(); // a refused file is released (and left as it was)
                if (journal != null && Files.isRegularFile(journal) && Files.size(journal) == 0) {
                    Files.delete(journal);
                }
                throw e;
            }
        } catch (IOException e) {
            throw new RowIoException("cannot open " + text + ": " + RowFiles.message(e), e);
        }
    }

    /** Keeps what the file holds (unless {@code force}) and positions it for appending. */
    private void resume(Path text, boolean regular, boolean force, boolean resumeJournal) throws IOException {
        long keep = -1; // bytes of the text file to keep; -1: start it over
        if (!force && journal != null && !resumeJournal && Files.isRegularFile(path)) {
            channel.truncate(0);
            copyParquetToJournal();
            fromParquet = true;
            keep = channel.size();
        } else if (!force && regular && nonEmpty(text)) {
            keep = keepRows(text, journal != null ? RowFormat.CSV : format);
        }
        if (regular) {
            channel.truncate(Math.max(0, keep));
            channel.position(Math.max(0, keep));
        }
        if (keep < 0 && (format == RowFormat.CSV || journal != null)) {
            write(TextRows.csvHeader(table));
        }
    }

    private static boolean nonEmpty(Path p) throws IOException {
        return Files.isRegularFile(p) && Files.size(p) > 0;
    }

    /** Opens (or creates) {@code path} for {@code campaign}, keeping its rows unless {@code force}. */
    public static RowFile open(Path path, Campaign campaign, boolean force) {
        return open(path, RowFormat.require(path.getFileName().toString()), campaign, force);
    }

    /** The same with the format given (whatever the file is called). */
    public static RowFile open(Path path, RowFormat format, Campaign campaign, boolean force) {
        return new RowFile(path, format, campaign, force);
    }

    private static FileLock lock(FileChannel ch, Path p) throws IOException {
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            ch.close();
            throw new CampaignException(p + " is being written by another apfsim campaign; give each shard its own "
                    + "file and merge them (apfsim merge)");
        }
        return l;
    }

    /** Keeps the rows of {@code text}; returns the length of its complete lines, or -1 to start it over. */
    private long keepRows(Path text, RowFormat f) {
        RowFiles.Scan scan = RowFiles.scan(text, f, t -> checkColumns(text, t), this::keep);
        droppedTornLine = scan.torn();
        return scan.table() == null ? -1 : scan.whole(); // -1: not even a whole header line
    }

    private void copyParquetToJournal() throws IOException {
        List<Row> rows = new ArrayList<>();
        RowFiles.scan(path, RowFormat.PARQUET, t -> checkColumns(path, t), r -> {
            keep(r);
            rows.add(r);
        });
        StringBuilder sb = new StringBuilder(TextRows.csvHeader(table));
        for (Row r : rows) {
            sb.append(TextRows.csv(r));
        }
        write(sb.toString());
    }

    private void checkColumns(Path p, Table found) {
        List<String> want = table.names();
        List<String> have = found.names();
        if (want.equals(have)) {
            return;
        }
        int i = 0;
        while (i < want.size() && i < have.size() && want.get(i).equals(have.get(i))) {
            i++;
        }
        String diff = i < want.size() && i < have.size()
                ? "column " + (i + 1) + " is '" + have.get(i) + "' there, '" + want.get(i) + "' here"
                : "it has " + have.size() + " columns, this " + campaign.kind() + " " + want.size();
        throw new CampaignException(p + " holds rows with other columns than this " + campaign.kind() + " ("
                + diff + "); use --force to start it over (its rows will be lost), or another file");
    }

    private void keep(Row r) {
        long i = r.index();
        if (i < 0 || i >= campaign.size()) {
            throw new CampaignException((journal != null ? journal : path) + ": row " + i + " is beyond this "
                    + campaign.kind() + "'s " + campaign.size() + " rows (the grid, the seeds or the runs changed); "
                    + "use --force to start it over (its rows will be lost), or another file");
        }
        Object hash = r.get(table, Table.SETTINGS_HASH);
        String want = campaign.settingsHash(i);
        if (!want.equals(hash)) {
            throw new CampaignException((journal != null ? journal : path) + ": row " + i + " was computed from "
                    + "other settings (hash " + hash + ", this " + campaign.kind() + " has " + want + "): the "
                    + "scenario, the grid or the seeds changed; use --force to start it over (its rows will be "
                    + "lost), or another file");
        }
        if (!present.get((int) i)) {
            present.set((int) i);
            kept++;
            count(i, r.values());
        }
    }

    private void count(long index, List<Object> values) {
        if (campaign.violated(values)) {
            violations++;
            if (lowestViolation < 0 || index < lowestViolation) {
                lowestViolation = index;
            }
        }
    }

    public Path path() {
        return path;
    }

    /** Whether row {@code index} is already in the file. */
    public boolean has(long index) {
        return present.get((int) index);
    }

    /** Rows kept from before this run. */
    public long kept() {
        return kept;
    }

    /** How many of the kept rows fall in {@code shard}. */
    public long kept(Shard shard) {
        if (shard.isAll()) {
            return kept;
        }
        long n = 0;
        for (int i = present.nextSetBit(0); i >= 0; i = present.nextSetBit(i + 1)) {
            if (shard.contains(i)) {
                n++;
            }
        }
        return n;
    }

    /** Rows in the file (kept and appended) that record a broken invariant. */
    public long violations() {
        return violations;
    }

    /** The lowest index of a row in the file that records a broken invariant, or -1. */
    public long lowestViolation() {
        return lowestViolation;
    }

    /** True when the file ended in an unfinished row (a kill mid-write), which was dropped to be redone. */
    public boolean droppedTornLine() {
        return droppedTornLine;
    }

    /** Appends one row, in one write, and counts it. */
    public synchronized void append(Row r) {
        if (finished) {
            throw new IllegalStateException("row file already finished");
        }
        write(format == RowFormat.NDJSON ? TextRows.ndjson(table, r) : TextRows.csv(r));
        long i = r.index();
        if (!present.get((int) i)) {
            present.set((int) i);
            count(i, r.values());
        }
        appended = true;
    }

    private void write(String text) {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        try {
            while (b.hasRemaining()) {
                channel.write(b);
            }
        } catch (IOException e) {
            throw new RowIoException("cannot write " + (journal != null ? journal : path) + ": "
                    + RowFiles.message(e) + " (every row before it is kept: run the same command again to resume)",
                    e);
        }
    }

    /**
     * Ends the campaign's writing: for Parquet, writes the file from the journal (sorted by index, through a
     * temporary file and an atomic rename) and removes the journal; for text files, closes them.
     */
    public synchronized void finish() {
        if (finished) {
            return;
        }
        finished = true;
        close();
        if (journal == null) {
            return;
        }
        if (fromParquet && !appended) { // the Parquet file was complete already
            deleteJournal();
            return;
        }
        List<Row> rows = new ArrayList<>();
        RowFiles.scan(journal, RowFormat.CSV, rows::add);
        rows.sort(Comparator.comparingLong(Row::index));
        Path tmp = path.resolveSibling("." + path.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            try (ParquetRows.Writer w = ParquetRows.open(tmp, table, campaign.kind())) {
                long last = -1;
                for (Row r : rows) {
                    if (r.index() != last) {
                        w.write(r);
                    }
                    last = r.index();
                }
            }
            try {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the journal still has every row
            }
            throw new RowIoException("cannot write " + path + ": " + RowFiles.message(e) + " (every row is kept in "
                    + journal + ": run the same command again to finish)", e);
        }
        deleteJournal();
    }

    private void deleteJournal() {
        try {
            Files.deleteIfExists(journal);
        } catch (IOException e) {
            throw new RowIoException("cannot remove " + journal + ": " + RowFiles.message(e), e);
        }
    }

    /** Releases the file without finishing it (a Parquet journal stays for the next run to resume). */
    @Override
    public synchronized void close() {
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
            channel.close();
        } catch (IOException e) {
            throw new RowIoException("cannot close " + (journal != null ? journal : path) + ": "
                    + RowFiles.message(e), e);
        }
    }
}
