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
    /** How a field is read without boxing: integers (int, long), booleans, strings, anything else boxed. */
    enum Kind { INTEGER, BOOLEAN, STRING, OTHER }

    /**
     * One record component: its JSON name, its Java type and how to read it ({@link #kind} says which typed
     * reader applies; {@link #get} works for all, boxed).
     */
    public record Field(String name, String javaName, Class<?> type, MethodHandle getter, Kind kind,
                        MethodHandle typed, String jsonKey) {
        Object get(TraceEvent e) {
            try {
                return getter.invoke(e);
            } catch (Throwable t) {
                throw failed(e, t);
            }
        }

        /** An int or long field. */
        long getLong(TraceEvent e) {
            try {
                return (long) typed.invokeExact(e);
            } catch (Throwable t) {
                throw failed(e, t);
            }
        }

        boolean getBoolean(TraceEvent e) {
            try {
                return (boolean) typed.invokeExact(e);
            } catch (Throwable t) {
                throw failed(e, t);
            }
        }

        String getString(TraceEvent e) {
            try {
                return (String) typed.invokeExact(e);
            } catch (Throwable t) {
                throw failed(e, t);
            }
        }

        private IllegalStateException failed(TraceEvent e, Throwable t) {
            return new IllegalStateException("cannot read " + javaName + " of " + e, t);
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
        List<Field> fields = of(e.getClass());
        for (int i = 0; i < fields.size(); i++) {
            Field f = fields.get(i);
            sb.append(f.jsonKey());
            switch (f.kind()) {
                case INTEGER -> sb.append(f.getLong(e));
                case BOOLEAN -> sb.append(f.getBoolean(e));
                case STRING -> {
                    String str = f.getString(e);
                    if (str == null) {
                        sb.append("null");
                    } else {
                        Json.string(sb, str);
                    }
                }
                case OTHER -> appendOther(sb, f.get(e));
            }
        }
    }

    private static void appendOther(StringBuilder sb, Object v) {
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
                MethodHandle raw = lookup.unreflect(rc.getAccessor());
                MethodHandle mh = raw.asType(MethodType.methodType(Object.class, TraceEvent.class));
                Class<?> t = rc.getType();
                Kind kind = t == long.class || t == int.class ? Kind.INTEGER : t == boolean.class ? Kind.BOOLEAN
                        : t == String.class ? Kind.STRING : Kind.OTHER;
                MethodHandle typed = switch (kind) {
                    case INTEGER -> raw.asType(MethodType.methodType(long.class, TraceEvent.class));
                    case BOOLEAN -> raw.asType(MethodType.methodType(boolean.class, TraceEvent.class));
                    case STRING -> raw.asType(MethodType.methodType(String.class, TraceEvent.class));
                    case OTHER -> mh;
                };
                StringBuilder key = new StringBuilder(",");
                Json.string(key, snake(n)).append(':');
                out.add(new Field(snake(n), n, t, mh, kind, typed, key.toString()));
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
