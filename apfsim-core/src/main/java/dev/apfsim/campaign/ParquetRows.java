package dev.apfsim.campaign;

import dev.hardwood.InputFile;
import dev.hardwood.reader.ParquetFileReader;
import dev.hardwood.reader.RowReader;
import dev.hardwood.schema.ColumnSchema;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Rows as a Parquet file: one optional column per table column (INT64, DOUBLE, or BYTE_ARRAY annotated STRING),
 * gzip pages, the table's kind in the key-value metadata. Written with parquet-java through its own
 * {@link LocalOutputFile} (no Hadoop at run time), read with Hardwood (no dependencies at all).
 */
final class ParquetRows {
    /** Hardwood logs through java.util.logging at INFO (SIMD, codec choice): keep a campaign's stderr for progress. */
    private static final Logger HARDWOOD_LOG = Logger.getLogger("dev.hardwood");

    static {
        HARDWOOD_LOG.setLevel(Level.WARNING);
        // Hardwood looks up libdeflate through the FFM API, which makes the JVM warn about native access on
        // stderr; the JDK's inflater is plenty for a table of runs.
        if (System.getProperty("hardwood.uselibdeflate") == null) {
            System.setProperty("hardwood.uselibdeflate", "false");
        }
    }

    private ParquetRows() {
    }

    static MessageType schema(Table t) {
        Types.MessageTypeBuilder b = Types.buildMessage();
        for (Column c : t.columns()) {
            switch (c.type()) {
                case LONG -> b.optional(PrimitiveTypeName.INT64).named(c.name());
                case DOUBLE -> b.optional(PrimitiveTypeName.DOUBLE).named(c.name());
                case STRING -> b.optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType())
                        .named(c.name());
            }
        }
        return b.named("apfsim_rows");
    }

    /** A writer of {@code t}'s rows to {@code path} (which must not exist). */
    static Writer open(Path path, Table t, String kind) throws IOException {
        MessageType schema = schema(t);
        ParquetWriter<Group> w = ExampleParquetWriter.builder(new LocalOutputFile(path))
                .withConf(new PlainParquetConfiguration())
                .withCodecFactory(new GzipCodecs())
                .withCompressionCodec(CompressionCodecName.GZIP)
                .withType(schema)
                .withWriteMode(ParquetFileWriter.Mode.CREATE)
                .withExtraMetaData(Map.of("apfsim.kind", kind))
                .build();
        return new Writer(w, new SimpleGroupFactory(schema), t);
    }

    static final class Writer implements AutoCloseable {
        private final ParquetWriter<Group> w;
        private final SimpleGroupFactory groups;
        private final Table t;

        private Writer(ParquetWriter<Group> w, SimpleGroupFactory groups, Table t) {
            this.w = w;
            this.groups = groups;
            this.t = t;
        }

        void write(Row r) throws IOException {
            Group g = groups.newGroup();
            for (int i = 0; i < t.size(); i++) {
                switch (r.values().get(i)) {
                    case null -> { }
                    case Long l -> g.add(i, l);
                    case Double d -> g.add(i, d);
                    case Object o -> g.add(i, o.toString());
                }
            }
            w.write(g);
        }

        @Override
        public void close() throws IOException {
            w.close();
        }
    }

    /** The table of a Parquet file and each of its rows, in file order. */
    static Table scan(Path path, Consumer<Table> header, Consumer<Row> sink) throws IOException {
        try (ParquetFileReader f = ParquetFileReader.open(InputFile.of(path)); RowReader r = f.rowReader()) {
            List<String> names = new ArrayList<>();
            for (ColumnSchema c : f.getFileSchema().getColumns()) {
                names.add(c.name());
            }
            if (names.isEmpty() || !names.getFirst().equals(Table.RUN)) {
                throw new CampaignException(path + ": not an apfsim row file (its first column is not '"
                        + Table.RUN + "')");
            }
            Table t = Table.of(names);
            for (int i = 0; i < t.size(); i++) {
                String physical = f.getFileSchema().getColumns().get(i).type().name();
                String expected = switch (t.columns().get(i).type()) {
                    case LONG -> "INT64";
                    case DOUBLE -> "DOUBLE";
                    case STRING -> "BYTE_ARRAY";
                };
                if (!physical.equals(expected)) {
                    throw new CampaignException(path + ": column '" + names.get(i) + "' is " + physical
                            + ", expected " + expected + " (not a file apfsim wrote)");
                }
            }
            header.accept(t);
            while (r.hasNext()) {
                r.next();
                List<Object> v = new ArrayList<>(t.size());
                for (int i = 0; i < t.size(); i++) {
                    v.add(r.isNull(i) ? null : switch (t.columns().get(i).type()) {
                        case LONG -> (Object) r.getLong(i);
                        case DOUBLE -> (Object) r.getDouble(i);
                        case STRING -> r.getString(i);
                    });
                }
                sink.accept(new Row(v, null));
            }
            return t;
        }
    }
}
