package dev.apfsim.cli;

import dev.apfsim.scenario.BuiltinScenarios;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code apfsim scenarios}: the built-in scenarios. */
@Command(name = "scenarios", mixinStandardHelpOptions = true,
        description = "List the built-in scenarios with a one-line description each.")
final class ScenariosCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
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
