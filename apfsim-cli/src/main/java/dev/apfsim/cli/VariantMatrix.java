package dev.apfsim.cli;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.ApfSwitch;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The cross product of {@code --apf} modes and {@code --vary} values that compare and sweep run. */
final class VariantMatrix {
    private VariantMatrix() {
    }

    /** --apf values outer, --vary values inner, in the order given; labels name only what varies. */
    static List<CompareCommand.Variant> variants(String scenario, ScenarioOptions options, List<ApfSwitch> apf,
                                                 List<CompareCommand.Vary> vary) {
        // each dimension is a list of (label part, --apf value or --set override)
        List<List<String[]>> dims = new ArrayList<>();
        if (!apf.isEmpty()) {
            List<String[]> d = new ArrayList<>();
            for (ApfSwitch a : new LinkedHashSet<>(apf)) {
                d.add(new String[]{"apf=" + a.word(), a.word()});
            }
            dims.add(d);
        }
        for (CompareCommand.Vary v : vary) {
            List<String[]> d = new ArrayList<>();
            for (String value : new LinkedHashSet<>(v.values())) {
                d.add(new String[]{v.path() + "=" + value, v.path() + "=" + value});
            }
            dims.add(d);
        }
        List<List<String[]>> combos = new ArrayList<>();
        combos.add(List.of());
        for (List<String[]> d : dims) {
            List<List<String[]>> next = new ArrayList<>();
            for (List<String[]> c : combos) {
                for (String[] choice : d) {
                    List<String[]> n = new ArrayList<>(c);
                    n.add(choice);
                    next.add(n);
                }
            }
            combos = next;
        }
        List<CompareCommand.Variant> out = new ArrayList<>();
        Set<String> labels = new HashSet<>();
        for (List<String[]> combo : combos) {
            List<String> label = new ArrayList<>();
            List<String> sets = new ArrayList<>();
            ApfSwitch mode = null;
            for (int i = 0; i < combo.size(); i++) {
                String[] choice = combo.get(i);
                boolean isApf = !apf.isEmpty() && i == 0;
                // label only the dimensions that actually vary (unless nothing varies)
                if (dims.get(i).size() > 1) {
                    label.add(choice[0]);
                }
                if (isApf) {
                    mode = ApfSwitch.parse(choice[1]);
                } else {
                    sets.add(choice[1]);
                }
            }
            if (label.isEmpty()) {
                for (String[] choice : combo) {
                    label.add(choice[0]);
                }
            }
            Scenario s = options.load(scenario, sets);
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
