package dev.apfsim.campaign;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The columns of a campaign's rows. Every table starts with {@code run} (the row's index in the campaign) and has a
 * {@code settings_hash} (what the row was computed from), so rows can be sharded, resumed and merged by index.
 *
 * <p>Types follow from the names alone, so a CSV header read back gives the same table: the identifying and
 * descriptive columns and the swept parameters (the columns from {@code apf} up to {@code seed}) are strings,
 * throughput columns ({@code ops_per_second.*}) are doubles, everything else is a 64-bit integer.
 */
public record Table(List<Column> columns) implements Serializable {
    public static final String RUN = "run";
    public static final String SETTINGS_HASH = "settings_hash";

    private static final List<String> STRINGS = List.of("label", "apf", "outcome", SETTINGS_HASH, "fingerprint",
            "invariant", "violation_detail");

    public Table {
        columns = List.copyOf(columns);
        if (columns.isEmpty() || !columns.getFirst().name().equals(RUN)) {
            throw new IllegalArgumentException("a campaign table starts with the column " + RUN);
        }
    }

    /** The table with these column names, typed by the naming rules above. */
    public static Table of(List<String> names) {
        List<Column> cols = new ArrayList<>(names.size());
        boolean inParams = false;
        for (String n : names) {
            if (n.equals("apf")) {
                inParams = true;
            } else if (n.equals("seed")) {
                inParams = false;
            }
            Column.Type t = inParams || STRINGS.contains(n) ? Column.Type.STRING
                    : n.startsWith("ops_per_second.") ? Column.Type.DOUBLE : Column.Type.LONG;
            cols.add(new Column(n, t));
        }
        return new Table(cols);
    }

    public int size() {
        return columns.size();
    }

    public List<String> names() {
        return columns.stream().map(Column::name).toList();
    }

    /** Position of the column {@code name}, or -1. */
    public int indexOf(String name) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** The swept parameters: {@code apf} and the columns after it up to {@code seed} (sweeps only). */
    public List<String> params() {
        List<String> p = new ArrayList<>();
        int apf = indexOf("apf");
        int seed = indexOf("seed");
        if (apf < 0 || seed < apf) {
            return p;
        }
        for (int i = apf; i < seed; i++) {
            p.add(columns.get(i).name());
        }
        return p;
    }

    /**
     * A value as this column stores it: numbers widened or narrowed to the column's type, strings on one line and
     * never empty (an empty string and a missing value are both null, as they are in CSV).
     */
    public Object coerce(int column, Object v) {
        if (v == null) {
            return null;
        }
        return switch (columns.get(column).type()) {
            case LONG -> v instanceof Number n ? (Object) n.longValue() : Long.parseLong(v.toString());
            case DOUBLE -> v instanceof Number n ? (Object) n.doubleValue() : Double.parseDouble(v.toString());
            case STRING -> {
                String s = v.toString().replace('\r', ' ').replace('\n', ' ');
                yield s.isEmpty() ? null : s;
            }
        };
    }

    /** A CSV field back to its value; throws {@link NumberFormatException} for a malformed number. */
    public Object parse(int column, String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        return switch (columns.get(column).type()) {
            case LONG -> Long.parseLong(text);
            case DOUBLE -> Double.parseDouble(text);
            case STRING -> text;
        };
    }

    /** How a value prints in CSV: integers plainly, doubles as {@link Double#toString} (exact round trip). */
    static String text(Object v) {
        return switch (v) {
            case null -> "";
            case Double d -> Double.toString(d);
            default -> v.toString();
        };
    }

    /** The row's values checked against the columns (count and types), as a new list. */
    public List<Object> values(List<?> raw) {
        if (raw.size() != columns.size()) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%d values for %d columns", raw.size(),
                    columns.size()));
        }
        List<Object> v = new ArrayList<>(raw.size());
        for (int i = 0; i < raw.size(); i++) {
            v.add(coerce(i, raw.get(i)));
        }
        return v;
    }
}
