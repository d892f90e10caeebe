package dev.apfsim.cli;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.Scenarios;
import dev.apfsim.scenario.Units;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.util.ArrayList;
import java.util.List;

/** Options shared by run and compare: which scenario, and how to change it. */
final class ScenarioOptions {
    @Option(names = "--seed", paramLabel = "N", converter = IntegerConverter.class,
            description = "Seed of all random streams (decimal or 0x hex); default: the scenario's.")
    Long seed;

    @Option(names = "--duration", paramLabel = "D", converter = DurationConverter.class,
            description = "Simulated time to run, e.g. 10s, 500ms, 50us; default: the scenario's.")
    Long durationNs;

    @Option(names = "--variant", paramLabel = "NAME", split = ",", splitSynopsisLabel = ",",
            description = "Apply one of the scenario's named variants (its `variants:` section), e.g. old or fixed; "
                    + "compare takes several (--variant old,fixed) and runs each as a column.")
    List<String> variants = new ArrayList<>();

    @Option(names = "--set", paramLabel = "PATH=VALUE", converter = SetConverter.class,
            description = "Override one scenario field, e.g. --set host.swap.latency.median=50us. Repeatable.")
    List<String> sets = new ArrayList<>();

    /** The one --variant given, or null; several are bad input except for compare. */
    String variant() {
        if (variants.size() > 1) {
            throw new Main.UserException("--variant takes one name here, got " + String.join(",", variants)
                    + " (apfsim compare SCENARIO --variant " + String.join(",", variants) + " runs them side by side)");
        }
        return variants.isEmpty() ? null : variants.getFirst();
    }

    /** Resolves the scenario with the --set overrides plus {@code extraSets}, then applies --seed/--duration. */
    Scenario load(String nameOrPath, List<String> extraSets) {
        return load(nameOrPath, variant(), extraSets);
    }

    /** {@link #load(String, List)} with variant {@code variant} (null: none) instead of the --variant given. */
    Scenario load(String nameOrPath, String variant, List<String> extraSets) {
        List<String> overrides = new ArrayList<>(variantOverrides(nameOrPath, variant));
        overrides.addAll(sets);
        overrides.addAll(extraSets);
        Scenario s = Scenarios.resolve(nameOrPath, overrides);
        if (seed != null) {
            s = s.withSeed(seed);
        }
        if (durationNs != null) {
            s = s.withDuration(durationNs);
        }
        return s;
    }

    /** The overrides of a named variant; an unknown name is bad input. */
    static List<String> variantOverrides(String nameOrPath, String name) {
        if (name == null) {
            return List.of();
        }
        java.util.Map<String, List<String>> all = Scenarios.variants(nameOrPath);
        List<String> v = all.get(name);
        if (v == null) {
            throw new Main.UserException(nameOrPath + ": no variant '" + name + "'"
                    + (all.isEmpty() ? " (the scenario defines none)" : "; it has " + String.join(", ", all.keySet())));
        }
        return v;
    }

    static final class DurationConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long ns;
            try {
                ns = Units.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            if (ns <= 0) {
                throw new TypeConversionException("expected a duration above zero, got " + Units.quote(value));
            }
            return ns;
        }
    }

    static final class IntegerConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Units.parseInteger(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class SetConverter implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            int eq = value.indexOf('=');
            if (eq <= 0) {
                throw new TypeConversionException("expected PATH=VALUE such as host.swap.latency.median=50us, got "
                        + Units.quote(value));
            }
            return value;
        }
    }
}
