package dev.apfsim.campaign;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One row of a campaign: its values in table order (the first is the run index) and, for NDJSON, the whole result
 * of the run as JSON (null where a row was read from CSV or Parquet, which keep only the columns).
 */
public record Row(List<Object> values, JsonNode result) {
    public Row {
        values = Collections.unmodifiableList(new ArrayList<>(values)); // values may be null: no List.copyOf
    }

    public long index() {
        return (Long) values.getFirst();
    }

    public Object get(Table t, String column) {
        int i = t.indexOf(column);
        return i < 0 ? null : values.get(i);
    }

    /** The same values without the JSON result: what CSV and Parquet keep, and what rows are compared by. */
    public Row columnsOnly() {
        return result == null ? this : new Row(values, null);
    }
}
