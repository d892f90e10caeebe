package dev.apfsim.campaign;

import java.io.Serializable;

/** One column of a campaign table: its name (the CSV header, the Parquet field) and the type of its values. */
public record Column(String name, Type type) implements Serializable {
    /** What a value is: {@link Long}, {@link Double} or {@link String}; any value may be null (empty in CSV). */
    public enum Type { LONG, DOUBLE, STRING }
}
