package dev.apfsim.sim;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The JSON form of results (docs/json.md): snake_case keys, null fields left out, keys in record component order
 * (maps keep their insertion order), two-space indentation with {@code "\n"} line ends on every platform, and a
 * final newline is not added (callers print with println).
 */
public final class ResultJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .disable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .disable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    private static final ObjectWriter WRITER = MAPPER.writer(printer());

    private ResultJson() {
    }

    private static DefaultPrettyPrinter printer() {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        Separators separators = Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator("");
        DefaultPrettyPrinter p = new DefaultPrettyPrinter(separators);
        p.indentObjectsWith(indenter);
        p.indentArraysWith(indenter);
        return p;
    }

    /** The shared mapper (snake_case, NON_NULL); also usable for reading results back. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static String toJson(RunResult result) {
        return toJson((Object) result);
    }

    /** Any result-like value (records, maps, lists) with the same conventions. */
    public static String toJson(Object value) {
        try {
            return WRITER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value.getClass().getName() + ": " + e.getMessage(),
                    e);
        }
    }

    /** The same on one line (for NDJSON). */
    public static String compact(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value.getClass().getName() + ": " + e.getMessage(),
                    e);
        }
    }
}
