package dev.apfsim.report;

import dev.apfsim.trace.TraceEvent;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of each {@link TraceEvent} record, read from the record itself so new events and fields show up in
 * the structured log without touching this package: every component except {@code time} and {@code vcpu} (which
 * every event has and which are written first), in declaration order, with snake_case names.
 */
public final class EventFields {
    /** One record component: its JSON name, its Java type and how to read it. */
    public record Field(String name, String javaName, Class<?> type, MethodHandle getter) {
        Object get(TraceEvent e) {
            try {
                return getter.invoke(e);
            } catch (Throwable t) {
                throw new IllegalStateException("cannot read " + javaName + " of " + e, t);
            }
        }
    }

    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            return introspect(type);
        }
    };

    private EventFields() {
    }

    /** The fields of {@code type}, {@code time} and {@code vcpu} excluded. */
    public static List<Field> of(Class<? extends TraceEvent> type) {
        return FIELDS.get(type);
    }

    /** Every event record, in the order {@link TraceEvent} declares them. */
    @SuppressWarnings("unchecked")
    public static List<Class<? extends TraceEvent>> eventTypes() {
        List<Class<? extends TraceEvent>> out = new ArrayList<>();
        for (Class<?> c : TraceEvent.class.getPermittedSubclasses()) {
            out.add((Class<? extends TraceEvent>) c);
        }
        return out;
    }

    /** An instance with zero/false/empty fields, to ask a record type for its {@code name()} and {@code actor()}. */
    public static TraceEvent sample(Class<? extends TraceEvent> type) {
        RecordComponent[] rc = type.getRecordComponents();
        Class<?>[] types = new Class<?>[rc.length];
        Object[] args = new Object[rc.length];
        for (int i = 0; i < rc.length; i++) {
            types[i] = rc[i].getType();
            args[i] = zero(types[i]);
        }
        try {
            Constructor<? extends TraceEvent> c = type.getDeclaredConstructor(types);
            return c.newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build a sample " + type.getSimpleName(), e);
        }
    }

    /** {@code dummyConsumed} → {@code dummy_consumed}. */
    public static String snake(String camel) {
        StringBuilder sb = new StringBuilder(camel.length() + 4);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) {
                if (i > 0) {
                    sb.append('_');
                }
                sb.append(Character.toLowerCase(c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Appends {@code ,"field":value} for every field of {@code e}. */
    static void appendJson(StringBuilder sb, TraceEvent e) {
        for (Field f : of(e.getClass())) {
            sb.append(',');
            Json.string(sb, f.name()).append(':');
            Object v = f.get(e);
            switch (v) {
                case null -> sb.append("null");
                case String s -> Json.string(sb, s);
                case Boolean b -> sb.append(b.booleanValue());
                case Double d when d.isNaN() || d.isInfinite() -> sb.append("null");
                case Float d when d.isNaN() || d.isInfinite() -> sb.append("null");
                case Number n -> sb.append(n);
                case Character c -> Json.string(sb, c.toString());
                case Enum<?> en -> Json.string(sb, en.name().toLowerCase());
                default -> Json.string(sb, v.toString());
            }
        }
    }

    private static List<Field> introspect(Class<?> type) {
        if (!type.isRecord()) {
            throw new IllegalArgumentException(type + " is not a record");
        }
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        List<Field> out = new ArrayList<>();
        for (RecordComponent rc : type.getRecordComponents()) {
            String n = rc.getName();
            if (n.equals("time") || n.equals("vcpu")) {
                continue;
            }
            try {
                MethodHandle mh = lookup.unreflect(rc.getAccessor())
                        .asType(MethodType.methodType(Object.class, TraceEvent.class));
                out.add(new Field(snake(n), n, rc.getType(), mh));
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot read " + type.getSimpleName() + "." + n, e);
            }
        }
        return List.copyOf(out);
    }

    private static Object zero(Class<?> t) {
        if (t == long.class) {
            return 0L;
        } else if (t == int.class) {
            return 0;
        } else if (t == boolean.class) {
            return false;
        } else if (t == double.class) {
            return 0.0;
        } else if (t == short.class) {
            return (short) 0;
        } else if (t == byte.class) {
            return (byte) 0;
        } else if (t == char.class) {
            return (char) 0;
        } else if (t == float.class) {
            return 0f;
        } else if (t == String.class) {
            return "";
        }
        return null;
    }
}
