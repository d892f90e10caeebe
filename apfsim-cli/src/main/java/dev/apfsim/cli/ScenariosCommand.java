package dev.apfsim.cli;

import dev.apfsim.scenario.BuiltinScenarios;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code apfsim scenarios}: the built-in scenarios. */
@Command(name = "scenarios", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"List the built-in scenarios with a one-line description each.",
                "With --show NAME, print one as YAML, comments included, to start a file of your own from: "
                        + "apfsim scenarios --show example-minimal > my.yaml"})
final class ScenariosCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--show", paramLabel = "NAME", description = "Print built-in scenario NAME as written (YAML).")
    String show;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (show != null) {
            String text = BuiltinScenarios.text(show.strip());
            out.print(text.endsWith("\n") ? text : text + "\n");
            out.flush();
            return 0;
        }
        List<String> names = List.copyOf(BuiltinScenarios.names());
        int w = 0;
        for (String n : names) {
            w = Math.max(w, n.length());
        }
        String pad = " ".repeat(w + 2);
        for (String n : names) {
            String d = BuiltinScenarios.description(n);
            out.println(d == null || d.isBlank() ? n : n + " ".repeat(w - n.length() + 2) + Main.oneLine(d));
            java.util.Set<String> variants = BuiltinScenarios.variants(n).keySet();
            if (!variants.isEmpty()) {
                out.println(pad + "variants: " + String.join(", ", variants) + "  (--variant NAME)");
            }
        }
        out.flush();
        return 0;
    }
}
