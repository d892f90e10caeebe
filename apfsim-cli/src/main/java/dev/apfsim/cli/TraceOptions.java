package dev.apfsim.cli;

import dev.apfsim.guest.Task;
import dev.apfsim.scenario.Units;
import dev.apfsim.sim.Machine;
import dev.apfsim.trace.TraceFilter;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code --trace-window FROM..TO} and {@code --trace-filter vcpu=0,2 task=oltp*}: what every trace output of a run
 * keeps (ftrace text, Perfetto JSON and protobuf, the NDJSON event log). The run itself, its results and its
 * fingerprint are the same with or without them.
 */
final class TraceOptions {
    @Option(names = "--trace-window", paramLabel = "FROM..TO", converter = WindowConverter.class,
            description = "Write only events in this span of simulated time to --trace and --events, e.g. "
                    + "1s..1.5s, ..200ms, 4s.. (slices crossing an end are cut there).")
    Window window;

    /** A span of simulated time, {@code [from, to)}. */
    record Window(long from, long to) {
    }

    @Option(names = "--trace-filter", paramLabel = "KEY=VALUES", arity = "1..*",
            description = "Write only events of these vCPUs and/or tasks to --trace and --events: vcpu=0,2 "
                    + "task=oltp*,scan-0 (globs; an event belongs to the task it names or that runs when it "
                    + "happens, a page-ready to the task that faulted). Repeatable.")
    List<String> filter = new ArrayList<>();

    /** Whether any option was given. */
    boolean any() {
        return window != null || !filter.isEmpty();
    }

    /** The selection for {@code machine}; vCPUs it lacks and globs matching none of its tasks are bad input. */
    TraceFilter.Selection selection(Machine machine) {
        TraceFilter.Selection s = TraceFilter.Selection.ALL;
        if (window != null) {
            long duration = machine.scenario().durationNs();
            if (window.from() >= duration) {
                throw new Main.UserException("--trace-window starts at " + Units.formatDuration(window.from())
                        + ", after the run ends (" + Units.formatDuration(duration) + ")");
            }
            s = s.withWindow(window.from(), window.to());
        }
        List<Integer> vcpus = new ArrayList<>();
        List<String> globs = new ArrayList<>();
        int vcpuCount = machine.scenario().vcpus();
        for (String term : filter) {
            int eq = term.indexOf('=');
            String key = eq < 0 ? "" : term.substring(0, eq).strip();
            String values = eq < 0 ? "" : term.substring(eq + 1).strip();
            if (!key.equals("vcpu") && !key.equals("task") || values.isEmpty()) {
                throw new Main.UserException("--trace-filter: expected vcpu=N[,N...] or task=GLOB[,GLOB...], got "
                        + Units.quote(term));
            }
            for (String v : values.split(",")) {
                v = v.strip();
                if (key.equals("task")) {
                    globs.add(v);
                    continue;
                }
                int n;
                try {
                    n = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    throw new Main.UserException("--trace-filter: expected a vCPU number, got " + Units.quote(v));
                }
                if (n < 0 || n >= vcpuCount) {
                    throw new Main.UserException("--trace-filter: no vCPU " + n + " (the scenario has " + vcpuCount
                            + ": 0.." + (vcpuCount - 1) + ")");
                }
                vcpus.add(n);
            }
        }
        s = s.withVcpus(vcpus).withTasks(globs);
        List<TraceFilter.TaskRef> tasks = tasks(machine);
        for (String g : globs) {
            TraceFilter.Selection one = TraceFilter.Selection.ALL.withTasks(List.of(g));
            if (TraceFilter.matching(one, tasks).isEmpty()) {
                throw new Main.UserException("--trace-filter: task=" + g + " matches no task (tasks: "
                        + String.join(", ", tasks.stream().map(TraceFilter.TaskRef::name).toList()) + ")");
            }
        }
        return s;
    }

    /** A fresh filter (one per output: a filter follows the run's events). */
    static TraceFilter filter(TraceFilter.Selection s, Machine machine) {
        return s.filter(machine.scenario().vcpus(), tasks(machine));
    }

    static List<TraceFilter.TaskRef> tasks(Machine machine) {
        List<TraceFilter.TaskRef> out = new ArrayList<>();
        for (Task t : machine.guest().tasks()) {
            out.add(new TraceFilter.TaskRef(t.name, t.cpu));
        }
        return out;
    }

    /** {@code FROM..TO} in simulated time, either end optional ({@code ..2s}, {@code 1s..}). */
    static final class WindowConverter implements ITypeConverter<Window> {
        @Override
        public Window convert(String value) {
            int dots = value.indexOf("..");
            if (dots < 0) {
                throw new TypeConversionException("expected FROM..TO (e.g. 1s..1.5s), got " + Units.quote(value));
            }
            String a = value.substring(0, dots).strip();
            String b = value.substring(dots + 2).strip();
            long from;
            long to;
            try {
                from = a.isEmpty() ? 0 : Units.parseDuration(a);
                to = b.isEmpty() ? Long.MAX_VALUE : Units.parseDuration(b);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            if (from < 0 || to <= from) {
                throw new TypeConversionException("expected FROM..TO with FROM before TO, got " + Units.quote(value));
            }
            return new Window(from, to);
        }
    }
}
