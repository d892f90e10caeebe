package dev.apfsim.scenario;

/**
 * A scenario that cannot be loaded: bad YAML, an unknown field, a value of the wrong type or out of range, a bad
 * {@code --set} override, or a scenario name that is neither built in nor a file.
 *
 * <p>{@link #getMessage()} is always one line that says where and what:
 * {@code FILE:LINE:COLUMN: field PATH: MESSAGE}, for example
 * {@code bad.yaml:7:13: field host.swap.latency.median: expected a duration like 50us, got "fast"}.
 * Parts that do not apply are left out: errors inside a {@code --set} value name the override instead of a file
 * position ({@code --set vm.vcpus=0: field vm.vcpus: expected ...}), YAML syntax errors have no field, and
 * errors about a whole file or name have neither line nor field.
 */
public final class ScenarioException extends RuntimeException {
    private final String source;
    private final int line;
    private final int column;
    private final String field;
    private final String detail;

    /**
     * @param source where the error is: a file name, {@code --set PATH=VALUE}, or a scenario name
     * @param line   1-based line, or 0 when there is no position
     * @param column 1-based column, or 0 when there is no position
     * @param field  dotted field path such as {@code workload.tasks[1].compute.mean}, or null
     * @param detail what was expected / what is wrong
     */
    public ScenarioException(String source, int line, int column, String field, String detail) {
        this(source, line, column, field, detail, null);
    }

    public ScenarioException(String source, int line, int column, String field, String detail, Throwable cause) {
        super(format(source, line, column, field, detail), cause);
        this.source = source;
        this.line = line;
        this.column = column;
        this.field = field;
        this.detail = detail;
    }

    /** An error about a whole file, override or name: {@code SOURCE: DETAIL}. */
    public ScenarioException(String source, String detail) {
        this(source, 0, 0, null, detail, null);
    }

    private static String format(String source, int line, int column, String field, String detail) {
        StringBuilder b = new StringBuilder(source == null ? "<scenario>" : source);
        if (line > 0) {
            b.append(':').append(line).append(':').append(column);
        }
        b.append(": ");
        if (field != null && !field.isEmpty()) {
            b.append("field ").append(field).append(": ");
        }
        b.append(detail);
        // one line whatever the parts contain, invisible characters spelled out
        return Units.visible(b.toString().replace("\r\n", " ").replace('\n', ' ').replace('\r', ' '));
    }

    /** File name, {@code --set PATH=VALUE}, or scenario name. */
    public String source() {
        return source;
    }

    /** 1-based line, 0 if the error has no file position. */
    public int line() {
        return line;
    }

    /** 1-based column, 0 if the error has no file position. */
    public int column() {
        return column;
    }

    /** Dotted field path ({@code workload.tasks[1].compute.mean}), or null. */
    public String field() {
        return field;
    }

    /** The message without location and field. */
    public String detail() {
        return detail;
    }
}
