package dev.apfsim.cli;

import dev.apfsim.metrics.TimeCategory;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.ApfSwitch;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.ResultJson;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.FtraceWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code apfsim run}: one run, printed as a table or as JSON. */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Run one scenario and print what happened.",
                "The outcome (ok, guest_panic, vm_stopped, livelock_suspected, no_progress, interrupted) is part of "
                        + "the result: the exit "
                        + "status is 0 for all of them."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SCENARIO",
            description = "A built-in scenario name (see 'apfsim scenarios') or the path of a YAML file.")
    String scenario;

    @Mixin
    ScenarioOptions options;

    @Option(names = "--apf", paramLabel = "on|off|sync", converter = ApfConverter.class,
            description = "on: the guest enables PV async PF; off: it never writes the MSRs (no-kvmapf), the "
                    + "host still halts; sync: no async PF in the host, every fault blocks. Default: the "
                    + "scenario's.")
    ApfSwitch apf;

    @Option(names = "--json", description = "Print the result as JSON (schema: docs/json.md).")
    boolean json;

    @Option(names = "--trace", paramLabel = "FILE",
            description = "Write every event to FILE as the run goes: a Perfetto protobuf trace when FILE ends in "
                    + ".pftrace or .perfetto-trace, Perfetto/Chrome trace JSON for .json (open either in "
                    + "ui.perfetto.dev; docs/report.md), trace-cmd report lines otherwise.")
    Path trace;

    @Option(names = "--trace-format", paramLabel = "ftrace|perfetto|pftrace",
            description = "Format of --trace whatever the file name: ftrace (text lines), perfetto (JSON) or "
                    + "pftrace (Perfetto protobuf).")
    RunOutputs.TraceFormat traceFormat;

    @Mixin
    TraceOptions traceOptions;

    @Option(names = "--events", paramLabel = "FILE",
            description = "Write every event to FILE as one JSON object per line, as the run goes (docs/events.md).")
    Path events;

    @Option(names = "--report", paramLabel = "FILE",
            description = "Write a self-contained HTML report with charts to FILE when the run ends (docs/report.md).")
    Path report;

    @Option(names = {"-q", "--quiet"}, description = "Print only the outcome line instead of the whole table.")
    boolean quiet;

    @Override
    public Integer call() {
        Scenario s = options.load(scenario, List.of());
        if (apf != null) {
            s = apf.apply(s);
        }
        HeapCheck.require(s, 1);
        Machine machine = new Machine(s);
        RunResult r;
        TraceFiles.runStarted(machine.simulator());
        try {
            try (RunOutputs outputs = RunOutputs.open(machine, trace, traceFormat, events, report, traceOptions,
                    Progress.wanted(json, quiet))) {
                r = outputs.run();
            }
            print(r);
        } finally {
            TraceFiles.runReported();
        }
        return 0;
    }

    private void print(RunResult r) {
        PrintWriter out = spec.commandLine().getOut();
        if ("interrupted".equals(r.outcome().kind())) {
            // one line, whatever else was asked; --json still gets the result so far
            PrintWriter err = spec.commandLine().getErr();
            err.println("apfsim: " + interruptedLine(r));
            err.flush();
            if (json) {
                out.println(ResultJson.toJson(r));
            }
            out.flush();
            return;
        }
        if (json) {
            out.println(ResultJson.toJson(r));
        } else if (quiet) {
            out.println(outcomeLine(r));
        } else {
            for (String line : table(r)) {
                out.println(line);
            }
        }
        out.flush();
    }

    /** "interrupted at simulated t=1.234567 s, 12,345 events; partial trace kept in run.txt". */
    String interruptedLine(RunResult r) {
        StringBuilder b = new StringBuilder("interrupted at simulated t=").append(Fmt.ftraceSeconds(r.simulatedNs()))
                .append(" s, ").append(Fmt.count(r.events())).append(" events");
        List<String> kept = new ArrayList<>();
        if (trace != null) {
            kept.add("partial trace kept in " + trace);
        }
        if (events != null) {
            kept.add("event log in " + events);
        }
        if (report != null) {
            kept.add("report of the run so far in " + report);
        }
        if (!kept.isEmpty()) {
            b.append("; ").append(String.join(", ", kept));
        }
        return b.toString();
    }

    static FtraceWriter openTrace(Path path) {
        try {
            return new FtraceWriter(path);
        } catch (NoSuchFileException e) {
            throw new Main.UserException("cannot create trace file " + path + ": no such directory");
        } catch (AccessDeniedException e) {
            throw new Main.UserException("cannot create trace file " + path + ": permission denied");
        } catch (IOException e) {
            throw new Main.UserException("cannot create trace file " + path + ": " + e.getMessage());
        }
    }

    static String outcomeLine(RunResult r) {
        RunResult.OutcomeView o = r.outcome();
        StringBuilder b = new StringBuilder("outcome: ").append(o.kind());
        if (!"ok".equals(o.kind())) {
            b.append("  ").append(o.message());
            if (o.timeNs() != null && !o.message().contains(" at t=") && !o.message().contains(" at simulated t=")) {
                b.append("  at ").append(Fmt.ftraceSeconds(o.timeNs())).append(" s");
                if (o.vcpu() != null) {
                    b.append(" on vCPU ").append(o.vcpu());
                }
            }
        }
        return b.toString();
    }

    /** The human-readable report, at most about 100 columns wide. */
    static List<String> table(RunResult r) {
        List<String> out = new ArrayList<>();
        out.add("scenario " + r.scenario() + "   seed " + r.seed() + "   apf " + r.apf() + "   simulated "
                + Fmt.ftraceSeconds(r.simulatedNs()) + " s");
        out.add("events " + Fmt.count(r.events()) + "   trace lines " + Fmt.count(r.traceEvents()) + "   wall "
                + Fmt.duration(r.wallNs()) + " (" + Fmt.si(r.eventsPerWallSecond()) + "events/s)   kworker time "
                + Fmt.duration(r.workerBusyNs()));
        out.add(outcomeLine(r));
        if (!r.violations().isEmpty()) {
            out.add("violations: " + r.violations().size());
            int shown = 0;
            for (String v : r.violations()) {
                if (shown++ == 10) {
                    out.add("  ... " + (r.violations().size() - 10) + " more (see --json)");
                    break;
                }
                out.add("  " + Fmt.cut(v, 98));
            }
        }

        out.add("");
        Fmt.Table tasks = new Fmt.Table("task", ">cpu", "state", ">ops", ">ops/s", ">apf waits", ">user",
                ">kernel", "note");
        for (RunResult.TaskResult t : r.tasks()) {
            tasks.row(Fmt.cut(t.name(), 24), t.cpu(), t.state(), Fmt.count(t.ops()), Fmt.rate(t.opsPerSecond()),
                    Fmt.count(t.apfWaits()), Fmt.percent(t.userNs(), r.simulatedNs()),
                    Fmt.percent(t.kernelNs(), r.simulatedNs()),
                    t.killedAtNs() == null ? "" : "killed at " + Fmt.ftraceSeconds(t.killedAtNs()));
        }
        if (r.tasks().isEmpty()) {
            out.add("nothing to run: the scenario has no tasks (workload.tasks); only the guest kernel booted");
        } else {
            out.addAll(tasks.lines());
        }

        out.add("");
        Fmt.Table vcpus = new Fmt.Table(">vcpu", ">guest user", ">guest kernel", ">idle", ">synthetic halt",
                ">sync blocked", ">host", ">preempted");
        for (RunResult.VcpuResult v : r.vcpus()) {
            Map<String, Long> t = v.timeNs();
            long total = t.values().stream().mapToLong(Long::longValue).sum();
            List<Object> cells = new ArrayList<>();
            cells.add(v.id());
            for (TimeCategory c : TimeCategory.values()) {
                cells.add(Fmt.percent(t.getOrDefault(c.key(), 0L), total));
            }
            vcpus.row(cells.toArray());
        }
        out.addAll(vcpus.lines());

        out.add("");
        RunResult.MemoryResult m = r.memory();
        out.add("memory: " + Fmt.count(m.residentPages()) + " pages resident, " + Fmt.count(m.evictions())
                + " evictions, " + Fmt.count(m.minorFaults()) + " minor faults, " + Fmt.count(m.swapReads())
                + " swap reads, " + Fmt.count(m.remoteReads()) + " remote reads, " + Fmt.count(m.failedGups())
                + " failed GUPs");

        List<String[]> counters = new ArrayList<>();
        r.counters().forEach((k, v) -> {
            if (v != 0) {
                counters.add(new String[]{k, Fmt.count(v)});
            }
        });
        out.add("");
        if (counters.isEmpty()) {
            out.add("counters: all zero");
        } else {
            out.add("counters (non-zero):");
            for (String l : Fmt.columns(counters, 98)) {
                out.add("  " + l);
            }
        }

        out.add("");
        Fmt.Table lat = new Fmt.Table("latency", ">count", ">mean", ">p50", ">p99", ">p99.9", ">max");
        r.latencies().forEach((name, s) -> {
            long n = num(s.get("count"));
            if (n == 0) {
                lat.row(name, "0", "-", "-", "-", "-", "-");
            } else {
                lat.row(name, Fmt.count(n), Fmt.duration(num(s.get("mean_ns"))), Fmt.duration(num(s.get("p50_ns"))),
                        Fmt.duration(num(s.get("p99_ns"))), Fmt.duration(num(s.get("p999_ns"))),
                        Fmt.duration(num(s.get("max_ns"))));
            }
        });
        out.addAll(lat.lines());

        out.add("");
        out.add("fingerprint " + r.fingerprint());
        return out;
    }

    static long num(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }

    static final class ApfConverter implements ITypeConverter<ApfSwitch> {
        @Override
        public ApfSwitch convert(String value) {
            try {
                return ApfSwitch.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("expected on, off or sync, got " + dev.apfsim.scenario.Units.quote(
                        value));
            }
        }
    }
}
