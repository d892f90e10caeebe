package dev.apfsim.cli;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.ApfSwitch;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The cross product of the scenario's named variants, {@code --apf} modes and {@code --vary} values that compare and
 * sweep run.
 */
final class VariantMatrix {
    private VariantMatrix() {
    }

    /** One value of one dimension: its part of the label and what it does (a variant, an --apf mode, a --set). */
    private record Choice(String label, String variant, ApfSwitch apf, String set) {
    }

    /** --apf values outer, --vary values inner, with the --variant given (if any) applied to all. */
    static List<CompareCommand.Variant> variants(String scenario, ScenarioOptions options, List<ApfSwitch> apf,
                                                 List<CompareCommand.Vary> vary) {
        String v = options.variant();
        return variants(scenario, options, v == null ? List.of() : List.of(v), apf, vary);
    }

    /**
     * Named variants outermost, then --apf values, then --vary values, in the order given; labels name only what
     * varies. {@code named} holds variant names of the scenario's {@code variants:} section (empty: none).
     */
    static List<CompareCommand.Variant> variants(String scenario, ScenarioOptions options, List<String> named,
                                                 List<ApfSwitch> apf, List<CompareCommand.Vary> vary) {
        List<List<Choice>> dims = new ArrayList<>();
        if (!named.isEmpty()) {
            List<Choice> d = new ArrayList<>();
            for (String n : new LinkedHashSet<>(named)) {
                ScenarioOptions.variantOverrides(scenario, n); // an unknown name fails now, naming the known ones
                d.add(new Choice(n, n, null, null));
            }
            dims.add(d);
        }
        if (!apf.isEmpty()) {
            List<Choice> d = new ArrayList<>();
            for (ApfSwitch a : new LinkedHashSet<>(apf)) {
                d.add(new Choice("apf=" + a.word(), null, a, null));
            }
            dims.add(d);
        }
        for (CompareCommand.Vary v : vary) {
            List<Choice> d = new ArrayList<>();
            for (String value : new LinkedHashSet<>(v.values())) {
                d.add(new Choice(v.path() + "=" + value, null, null, v.path() + "=" + value));
            }
            dims.add(d);
        }
        List<List<Choice>> combos = new ArrayList<>();
        combos.add(List.of());
        for (List<Choice> d : dims) {
            List<List<Choice>> next = new ArrayList<>();
            for (List<Choice> c : combos) {
                for (Choice choice : d) {
                    List<Choice> n = new ArrayList<>(c);
                    n.add(choice);
                    next.add(n);
                }
            }
            combos = next;
        }
        List<CompareCommand.Variant> out = new ArrayList<>();
        Set<String> labels = new HashSet<>();
        for (List<Choice> combo : combos) {
            List<String> label = new ArrayList<>();
            List<String> sets = new ArrayList<>();
            ApfSwitch mode = null;
            String variant = null;
            for (int i = 0; i < combo.size(); i++) {
                Choice choice = combo.get(i);
                // label only the dimensions that actually vary (unless nothing varies)
                if (dims.get(i).size() > 1) {
                    label.add(choice.label());
                }
                if (choice.variant() != null) {
                    variant = choice.variant();
                } else if (choice.apf() != null) {
                    mode = choice.apf();
                } else {
                    sets.add(choice.set());
                }
            }
            if (label.isEmpty()) {
                for (Choice choice : combo) {
                    label.add(choice.label());
                }
            }
            Scenario s = options.load(scenario, variant, sets);
            if (mode != null) {
                s = mode.apply(s);
            }
            String name = label.isEmpty() ? "as-is" : String.join(" ", label);
            // labels key the JSON "relative" map: keep them unique even if a --vary repeats a value
            String unique = name;
            for (int k = 2; labels.contains(unique); k++) {
                unique = name + " (" + k + ")";
            }
            labels.add(unique);
            out.add(new CompareCommand.Variant(unique, s, mode, List.copyOf(sets)));
        }
        return out;
    }
}
