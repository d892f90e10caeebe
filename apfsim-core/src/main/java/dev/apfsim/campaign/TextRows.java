package dev.apfsim.campaign;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apfsim.sim.ResultJson;
import org.apache.commons.csv.CSVFormat;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One row as one line of text: CSV (RFC 4180 quoting, {@code \n} line ends) or NDJSON (the columns as typed JSON
 * values, then {@code "result"} when the row has it). Strings never hold a line break ({@link Table#coerce}), so
 * a row is always exactly one line and a file cut short by a kill loses at most its last, unfinished line.
 */
final class TextRows {
    static final CSVFormat CSV = CSVFormat.DEFAULT.builder().setRecordSeparator('\n').build();
    static final String RESULT = "result";

    private TextRows() {
    }

    static String csvHeader(Table t) {
        return CSV.format(t.names().toArray()) + "\n";
    }

    static String csv(Row r) {
        Object[] v = new Object[r.values().size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = Table.text(r.values().get(i));
        }
        return CSV.format(v) + "\n";
    }

    static String ndjson(Table t, Row r) {
        ObjectNode n = ResultJson.mapper().createObjectNode();
        for (int i = 0; i < t.size(); i++) {
            String name = t.columns().get(i).name();
            switch (r.values().get(i)) {
                case null -> n.putNull(name);
                case Long l -> n.put(name, l);
                case Double d -> n.put(name, d);
                case Object o -> n.put(name, o.toString());
            }
        }
        if (r.result() != null) {
            n.set(RESULT, r.result());
        }
        try {
            return ResultJson.mapper().writeValueAsString(n) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a row: " + e.getMessage(), e);
        }
    }

    /** The column names of an NDJSON row (every key but {@code result}, in order). */
    static List<String> ndjsonNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals(RESULT)) {
                names.add(k);
            }
        }
        return names;
    }

    static Row fromNdjson(Table t, JsonNode n) {
        List<Object> v = new ArrayList<>(t.size());
        for (int i = 0; i < t.size(); i++) {
            JsonNode x = n.get(t.columns().get(i).name());
            Object o = x == null || x.isNull() ? null : x.isNumber() ? x.numberValue() : x.asText();
            v.add(t.coerce(i, o));
        }
        JsonNode result = n.get(RESULT);
        return new Row(v, result == null || result.isNull() ? null : result);
    }
}
