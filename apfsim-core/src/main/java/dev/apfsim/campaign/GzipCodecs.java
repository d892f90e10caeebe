package dev.apfsim.campaign;

import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.GZIPOutputStream;

/**
 * Parquet page compression with the JDK's gzip. parquet-java's own codec factory goes through Hadoop's codec
 * classes even for gzip; this one lets the writer run with no Hadoop on the class path (and no native library).
 * Only compression is offered: files are read back with Hardwood.
 */
final class GzipCodecs implements CompressionCodecFactory {
    @Override
    public BytesInputCompressor getCompressor(CompressionCodecName codec) {
        if (codec != CompressionCodecName.GZIP && codec != CompressionCodecName.UNCOMPRESSED) {
            throw new IllegalArgumentException("only gzip and uncompressed pages are written, not " + codec);
        }
        return new BytesInputCompressor() {
            @Override
            public BytesInput compress(BytesInput bytes) throws IOException {
                if (codec == CompressionCodecName.UNCOMPRESSED) {
                    return bytes;
                }
                ByteArrayOutputStream buf = new ByteArrayOutputStream((int) Math.min(1 << 20, bytes.size() / 2 + 64));
                try (GZIPOutputStream gz = new GZIPOutputStream(buf)) {
                    bytes.writeAllTo(gz);
                }
                return BytesInput.from(buf.toByteArray());
            }

            @Override
            public CompressionCodecName getCodecName() {
                return codec;
            }

            @Override
            public void release() {
                // nothing pooled
            }
        };
    }

    @Override
    public BytesInputDecompressor getDecompressor(CompressionCodecName codec) {
        return new BytesInputDecompressor() {
            @Override
            public BytesInput decompress(BytesInput bytes, int uncompressedSize) {
                throw new UnsupportedOperationException("apfsim reads Parquet with Hardwood");
            }

            @Override
            public void decompress(ByteBuffer in, int compressedSize, ByteBuffer out, int uncompressedSize) {
                throw new UnsupportedOperationException("apfsim reads Parquet with Hardwood");
            }

            @Override
            public void release() {
                // nothing pooled
            }
        };
    }

    @Override
    public void release() {
        // nothing pooled
    }
}
