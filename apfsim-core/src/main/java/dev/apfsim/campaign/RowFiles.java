package dev.apfsim.campaign;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.apfsim.sim.ResultJson;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Reading row files back: every format, rows in file order, a torn last line (from a kill) told apart. */
public final class RowFiles {
    private RowFiles() {
    }

    /**
     * What a scan found: the file's table (null for an empty file), the number of rows, and for text files the
     * length of the complete lines ({@code whole}) and whether an unfinished last line followed them.
     */
    public record Scan(Table table, long rows, long whole, boolean torn) {
    }

    /** Reads {@code path} in {@code format}, handing each row to {@code sink}. */
    public static Scan scan(Path path, RowFormat format, Consumer<Row> sink) {
        return scan(path, format, t -> { }, sink);
    }

    /** The same, handing the file's table to {@code header} before any row (to refuse a foreign file early). */
    public static Scan scan(Path path, RowFormat format, Consumer<Table> header, Consumer<Row> sink) {
        try {
            return switch (format) {
                case CSV, NDJSON -> scanText(path, format, header, sink);
                case PARQUET -> {
                    long[] n = {0};
                    Table t = ParquetRows.scan(path, header, r -> {
                        n[0]++;
                        sink.accept(r);
                    });
                    yield new Scan(t, n[0], Files.size(path), false);
                }
            };
        } catch (IOException e) {
            throw new RowIoException("cannot read " + path + ": " + message(e), e);
        }
    }

    /** Every row of {@code path}, its format from its name. */
    public static List<Row> readAll(Path path) {
        List<Row> rows = new ArrayList<>();
        scan(path, RowFormat.require(path.getFileName().toString()), rows::add);
        return rows;
    }

    private static Scan scanText(Path path, RowFormat format, Consumer<Table> onHeader, Consumer<Row> sink)
            throws IOException {
        long size;
        long whole;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            size = ch.size();
            whole = lastNewline(ch, size) + 1;
        }
        Table table = null;
        long rows = 0;
        try (InputStream in = java.nio.channels.Channels.newInputStream(FileChannel.open(path,
                StandardOpenOption.READ));
             BufferedReader r = new BufferedReader(new InputStreamReader(new Limited(in, whole),
                     StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            long lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                String where = path + ":" + lineNo;
                if (format == RowFormat.CSV) {
                    List<String> fields = csvFields(line, where);
                    if (table == null) {
                        table = header(fields, where);
                        onHeader.accept(table);
                        continue;
                    }
                    if (fields.size() != table.size()) {
                        throw new CampaignException(where + ": " + fields.size() + " fields, the header has "
                                + table.size());
                    }
                    List<Object> v = new ArrayList<>(fields.size());
                    for (int i = 0; i < fields.size(); i++) {
                        try {
                            v.add(table.parse(i, fields.get(i)));
                        } catch (NumberFormatException e) {
                            throw new CampaignException(where + ": column '" + table.columns().get(i).name()
                                    + "' should be a number, got '" + fields.get(i) + "'");
                        }
                    }
                    check(v, where);
                    sink.accept(new Row(v, null));
                } else {
                    JsonNode n;
                    try {
                        n = ResultJson.mapper().readTree(line);
                    } catch (JsonProcessingException e) {
                        throw new CampaignException(where + ": not a JSON row: " + e.getOriginalMessage());
                    }
                    if (n == null || !n.isObject()) {
                        throw new CampaignException(where + ": not a JSON object");
                    }
                    if (table == null) {
                        table = header(TextRows.ndjsonNames(n), where);
                        onHeader.accept(table);
                    }
                    Row row;
                    try {
                        row = TextRows.fromNdjson(table, n);
                    } catch (NumberFormatException e) {
                        throw new CampaignException(where + ": a number column holds text: " + e.getMessage());
                    }
                    check(row.values(), where);
                    sink.accept(row);
                }
                rows++;
            }
        }
        return new Scan(table, rows, whole, whole < size);
    }

    private static Table header(List<String> names, String where) {
        if (names.isEmpty() || !names.getFirst().equals(Table.RUN)) {
            throw new CampaignException(where + ": not an apfsim row file (the first column should be '" + Table.RUN
                    + "')");
        }
        return Table.of(names);
    }

    private static void check(List<Object> v, String where) {
        if (!(v.getFirst() instanceof Long)) {
            throw new CampaignException(where + ": the row has no run index");
        }
    }

    private static List<String> csvFields(String line, String where) {
        try (Reader in = new StringReader(line); CSVParser p = TextRows.CSV.parse(in)) {
            List<CSVRecord> recs = p.getRecords();
            if (recs.size() != 1) {
                throw new CampaignException(where + ": not one CSV record");
            }
            return recs.getFirst().toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CampaignException(where + ": malformed CSV: " + e.getMessage());
        }
    }

    /** Offset of the last {@code \n} in the first {@code size} bytes, or -1. */
    private static long lastNewline(FileChannel ch, long size) throws IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 16);
        long end = size;
        while (end > 0) {
            long start = Math.max(0, end - buf.capacity());
            buf.clear().limit((int) (end - start));
            while (buf.hasRemaining()) {
                if (ch.read(buf, start + buf.position()) < 0) {
                    break;
                }
            }
            for (int i = buf.position() - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    return start + i;
                }
            }
            end = start;
        }
        return -1;
    }

    static String message(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** At most {@code limit} bytes of a stream: the complete lines, not a torn tail. */
    private static final class Limited extends InputStream {
        private final InputStream in;
        private long left;

        Limited(InputStream in, long limit) {
            this.in = in;
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
