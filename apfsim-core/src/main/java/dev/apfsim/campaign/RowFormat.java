package dev.apfsim.campaign;

import java.util.Locale;
import java.util.Optional;

/** The files rows go to, by extension: CSV (flat columns), NDJSON (columns and the whole result), Parquet. */
public enum RowFormat {
    CSV(".csv"), NDJSON(".ndjson"), PARQUET(".parquet");

    private final String extension;

    RowFormat(String extension) {
        this.extension = extension;
    }

    public String extension() {
        return extension;
    }

    /** The format a file name asks for, if its extension is one of ours. */
    public static Optional<RowFormat> forName(String fileName) {
        String n = fileName.toLowerCase(Locale.ROOT);
        for (RowFormat f : values()) {
            if (n.endsWith(f.extension)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /** {@link #forName}, or a clear error listing the extensions. */
    public static RowFormat require(String fileName) {
        return forName(fileName).orElseThrow(() -> new CampaignException(fileName
                + ": unknown row file type; use .csv, .ndjson or .parquet"));
    }
}
