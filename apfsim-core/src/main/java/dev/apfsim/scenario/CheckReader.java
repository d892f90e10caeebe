package dev.apfsim.scenario;

import dev.apfsim.check.CheckSpec;
import dev.apfsim.perturb.Perturbation;
import org.snakeyaml.engine.v2.nodes.Node;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code check} section: what the schedule explorer may vary, and the perturbations a replayed run injects. */
final class CheckReader {
    /** Perturbation kinds by their documented key, in declaration order (the order messages list them in). */
    private static final Map<String, Perturbation.Kind> PERTURB_KINDS;

    static {
        Map<String, Perturbation.Kind> m = new LinkedHashMap<>();
        for (Perturbation.Kind k : Perturbation.Kind.values()) {
            m.put(k.key(), k);
        }
        PERTURB_KINDS = java.util.Collections.unmodifiableMap(m);
        Map<String, dev.apfsim.check.Fairness> f = new LinkedHashMap<>();
        for (dev.apfsim.check.Fairness x : dev.apfsim.check.Fairness.values()) {
            f.put(x.key(), x);
        }
        FAIRNESS = java.util.Collections.unmodifiableMap(f);
    }

    private static final Map<String, dev.apfsim.check.Fairness> FAIRNESS;

    private final NodeReader r;

    CheckReader(NodeReader r) {
        this.r = r;
    }

    CheckSpec check(MapView c) {
        if (c.entries().isEmpty()) {
            return CheckSpec.NONE;
        }
        long scheduleSeed = c.has("schedule_seed")
                ? r.integer(c.get("schedule_seed"), c.path("schedule_seed"), Long.MIN_VALUE, Long.MAX_VALUE) : 0;
        List<Perturbation> perturbations = new ArrayList<>();
        List<Node> items = r.list(c.get("perturbations"), c.path("perturbations"), "perturbations");
        for (int i = 0; i < items.size(); i++) {
            String p = c.path("perturbations") + "[" + i + "]";
            String what = "a perturbation {at, cpu, kind, duration}";
            MapView pm = r.map(items.get(i), p, Schema.PERTURBATION.fields().keySet(), what);
            if (pm.node() == null || Yaml.isNull(pm.node())) {
                throw r.error(items.get(i), p, "expected " + what + ", got nothing");
            }
            long at = r.duration(r.require(pm, "at", "a duration"), pm.path("at"));
            int cpu = r.intField(pm, "cpu", 0, 255, 0);
            Perturbation.Kind kind = r.choice(r.require(pm, "kind", "one of "
                    + String.join(", ", PERTURB_KINDS.keySet())), pm.path("kind"), PERTURB_KINDS);
            long dur = r.durField(pm, "duration", 0);
            perturbations.add(new Perturbation(at, cpu, kind, dur));
        }
        List<Perturbation.Kind> kinds = new ArrayList<>();
        List<Node> kindNodes = r.list(c.get("perturb"), c.path("perturb"), "perturbation kinds");
        for (int i = 0; i < kindNodes.size(); i++) {
            Perturbation.Kind k = r.choice(kindNodes.get(i), c.path("perturb") + "[" + i + "]", PERTURB_KINDS);
            if (kinds.contains(k)) {
                throw r.error(kindNodes.get(i), c.path("perturb") + "[" + i + "]", "perturbation kind "
                        + k.key() + " is listed twice");
            }
            kinds.add(k);
        }
        int max = r.intField(c, "max_perturbations", 0, 1_000_000, 0);
        double jitter = c.has("jitter") ? r.number(c.get("jitter"), c.path("jitter"), 0, 1, false,
                "a relative jitter") : 0;
        dev.apfsim.check.ChoiceSequence choices = dev.apfsim.check.ChoiceSequence.NONE;
        if (c.has("choices")) {
            String text = r.string(c.get("choices"), c.path("choices"));
            try {
                choices = dev.apfsim.check.ChoiceSequence.parse(text);
            } catch (IllegalArgumentException e) {
                throw r.error(c.get("choices"), c.path("choices"), "expected decisions like 0*41,2,1: "
                        + e.getMessage());
            }
        }
        java.util.Map<dev.apfsim.engine.Choices.Cost, Integer> levels =
                new java.util.EnumMap<>(dev.apfsim.engine.Choices.Cost.class);
        if (c.has("cost_levels")) {
            java.util.Set<String> names = new java.util.LinkedHashSet<>();
            for (dev.apfsim.engine.Choices.Cost k : dev.apfsim.engine.Choices.Cost.values()) {
                names.add(k.key());
            }
            MapView lm = r.map(c.get("cost_levels"), c.path("cost_levels"), names, "a map of cost name to level");
            for (String k : names) {
                if (lm.has(k)) {
                    levels.put(dev.apfsim.engine.Choices.Cost.fromKey(k), r.intField(lm, k,
                            -dev.apfsim.check.ControlledChoices.MAX_LEVEL, dev.apfsim.check.ControlledChoices.MAX_LEVEL, 0));
                }
            }
        }
        dev.apfsim.check.Fairness fairness = dev.apfsim.check.Fairness.WEAK;
        if (c.has("fairness")) {
            fairness = r.choice(c.get("fairness"), c.path("fairness"), FAIRNESS);
        }
        return new CheckSpec(scheduleSeed, List.copyOf(perturbations), List.copyOf(kinds), max, jitter, choices,
                levels, fairness);
    }
}
