package dev.apfsim.cli;

import dev.apfsim.cli.conform.Calibration;
import dev.apfsim.cli.conform.Conformance;
import dev.apfsim.cli.conform.ScenarioGuest;
import dev.apfsim.realkvm.RealKvm;
import dev.apfsim.realkvm.kvm.Probe;
import dev.apfsim.scenario.Scenario;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code apfsim conform}: the same scenario on this host's real KVM and in the model, and where they part. */
@Command(name = "conform", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Run a scenario on this host's real KVM (/dev/kvm, a small VMM and a generated test guest) "
                + "and in the model, and compare the KVM tracepoint sequences (docs/conform.md).",
                "Prints 'match' or the first difference with context on each side, how each side ended, and "
                        + "timing figures side by side."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:every scenario matches (--calibrate: the costs were measured)",
                "1:a difference (or a suite scenario that could not run)",
                "2:bad input: unknown option or scenario, a scenario the real KVM cannot run",
                "3:no usable KVM here (the one line says why: no /dev/kvm, not root, a missing capability, "
                        + "tracefs unavailable)"})
final class ConformCommand implements Callable<Integer> {
    static final int EXIT_DIFFERENT = 1, EXIT_NO_KVM = 3;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "SCENARIO",
            description = "A built-in scenario name or a YAML file (its guest: script tasks on x86, remote regions).")
    String scenario;

    @Option(names = "--suite", description = "Run every built-in conformance scenario (appc-*, conform-*), one line"
            + " each.")
    boolean suite;

    @Option(names = "--calibrate", description = "Measure this host's costs (exit, entry, injection, worker "
            + "wake-up, async set-up) and print them as a host.costs block to paste into a scenario.")
    boolean calibrate;

    @Option(names = "--json", description = "Print the comparison as JSON (the suite: an array).")
    boolean json;

    @Option(names = "--keep", paramLabel = "DIR", description = "Keep both traces: DIR/NAME.real.trace (the "
            + "kernel's lines) and DIR/NAME.model.trace (the model's).")
    Path keep;

    @Option(names = "--limit", paramLabel = "DURATION", converter = ScenarioOptions.DurationConverter.class,
            description = "Wall-time limit of the real run, and the model's simulated duration (default: the "
                    + "scenario's duration, at most 2s on the real side).")
    Long limitNs;

    @Mixin
    ScenarioOptions options;

    @Override
    public Integer call() {
        int modes = (scenario != null ? 1 : 0) + (suite ? 1 : 0) + (calibrate ? 1 : 0);
        if (modes != 1) {
            throw new Main.UserException("conform takes one of SCENARIO, --suite or --calibrate");
        }
        List<Scenario> scenarios = new ArrayList<>();
        if (scenario != null) {
            scenarios.add(options.load(scenario, List.of()));
            guest(scenarios.getFirst()); // bad input is bad input on any host
        } else if (suite) {
            for (String n : Conformance.suite()) {
                scenarios.add(options.load(n, List.of()));
            }
        }
        Probe p = RealKvm.probe();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (!(p instanceof Probe.Usable host)) {
            err.println("apfsim: no usable KVM here: " + ((Probe.Unusable) p).reason());
            err.flush();
            return EXIT_NO_KVM;
        }
        try {
            if (calibrate) {
                return calibrate(host, out);
            }
            return suite ? suite(host, scenarios, out) : one(host, scenarios.getFirst(), out);
        } catch (IOException e) {
            throw new Main.UserException("the real KVM run failed: " + e.getMessage());
        } finally {
            out.flush();
        }
    }

    private int one(Probe.Usable host, Scenario s, PrintWriter out) throws IOException {
        Conformance.Result r = run(s, host);
        List<Path> kept = keep(r);
        if (json) {
            out.println(json(r, host));
        } else {
            out.println("host: " + host);
            out.print(r.report().render());
            for (Path k : kept) {
                out.println("kept " + k);
            }
        }
        return r.report().match() ? 0 : EXIT_DIFFERENT;
    }

    private int suite(Probe.Usable host, List<Scenario> scenarios, PrintWriter out) throws IOException {
        if (!json) {
            out.println("host: " + host);
        }
        List<String> jsons = new ArrayList<>();
        int differ = 0;
        for (Scenario s : scenarios) {
            Conformance.Result r;
            try {
                r = run(s, host);
            } catch (Main.UserException e) {
                differ++;
                out.println(String.format("%-28s NOT RUN: %s", s.name(), e.getMessage()));
                out.flush();
                continue;
            }
            keep(r);
            if (!r.report().match()) {
                differ++;
            }
            if (json) {
                jsons.add(json(r, host));
            } else {
                out.println(r.report().summaryLine());
                out.flush();
            }
        }
        if (json) {
            out.println("[" + String.join(",\n", jsons) + "]");
        } else {
            out.println(scenarios.size() + " scenarios: " + (scenarios.size() - differ) + " match, " + differ
                    + " differ");
        }
        return differ == 0 ? 0 : EXIT_DIFFERENT;
    }

    private Conformance.Result run(Scenario s, Probe.Usable host) throws IOException {
        guest(s);
        return Conformance.run(s, host.backend(), limitNs);
    }

    /** The scenario's test guest, or bad input naming the field the real KVM cannot do. */
    private static void guest(Scenario s) {
        try {
            ScenarioGuest.of(s);
        } catch (ScenarioGuest.Unsupported e) {
            throw new Main.UserException(s.name() + ": " + e.getMessage());
        }
    }

    /** The report's JSON ({@code DiffReport.toJson}) with the host it ran on first. */
    private static String json(Conformance.Result r, Probe.Usable host) {
        try {
            ObjectNode report = (ObjectNode) JSON.readTree(r.report().toJson());
            ObjectNode n = JSON.createObjectNode();
            n.put("host", host.toString());
            n.put("backend", host.backend().toString());
            n.setAll(report);
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private List<Path> keep(Conformance.Result r) throws IOException {
        return keep == null ? List.of() : r.keep(keep);
    }

    private int calibrate(Probe.Usable host, PrintWriter out) throws IOException {
        Calibration.Fit f = Calibration.measure(host.backend());
        if (json) {
            out.println(f.toJson());
        } else {
            out.println("# host: " + host);
            for (String l : f.explanation()) {
                out.println("# " + l);
            }
            out.print(f.yaml());
        }
        return 0;
    }
}
