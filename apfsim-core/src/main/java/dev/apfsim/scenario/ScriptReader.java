package dev.apfsim.scenario;

import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.guest.GuestKernel;
import dev.apfsim.workload.TaskSpec;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.apfsim.scenario.ScenarioLoader.MAX_SCRIPT_STEPS;
import static dev.apfsim.scenario.ScenarioLoader.MSR_KVM_ASYNC_PF_ACK;
import static dev.apfsim.scenario.ScenarioLoader.MSR_KVM_ASYNC_PF_EN;
import static dev.apfsim.scenario.ScenarioLoader.MSR_KVM_ASYNC_PF_INT;

/**
 * A script task's {@code steps} (docs/scenarios.md#script-steps) as guest {@link Action}s: bare words, single-field
 * mappings, MSR names, and {@code repeat} blocks expanded at load time up to {@link ScenarioLoader#MAX_SCRIPT_STEPS}.
 */
final class ScriptReader {
    private static final List<String> STEP_WORDS = List.of("cli", "sti", "halt", "init", "cpu_offline",
            "cpu_online");
    private static final List<String> STEP_KEYS = List.of("touch", "write", "compute", "sleep", "kernel", "cpl",
            "wrmsr", "rdmsr", "enable_apf", "out", "in", "pause", "paging", "lapic", "cr3", "l2", "regular_pf",
            "popf", "repeat");
    /** One PAUSE instruction of a {@code pause: N} loop (~140 cycles on recent Intel cores). */
    static final long PAUSE_NS = 40;

    private static final Map<String, Integer> MSR_NAMES = NodeReader.ordered(
            "msr_kvm_async_pf_en", MSR_KVM_ASYNC_PF_EN, "msr_kvm_async_pf_int", MSR_KVM_ASYNC_PF_INT,
            "msr_kvm_async_pf_ack", MSR_KVM_ASYNC_PF_ACK,
            "en", MSR_KVM_ASYNC_PF_EN, "int", MSR_KVM_ASYNC_PF_INT, "ack", MSR_KVM_ASYNC_PF_ACK);

    private final NodeReader r;
    private final GuestRanges ranges;
    private final GuestConfig guest;
    /** The vCPU of the task being read ({@code enable_apf} registers that vCPU's area). */
    private int cpu;

    ScriptReader(NodeReader r, GuestRanges ranges, GuestConfig guest) {
        this.r = r;
        this.ranges = ranges;
        this.guest = guest;
    }

    TaskSpec script(MapView t, String name, int cpu) {
        this.cpu = cpu;
        boolean startKernel = false;
        boolean startIf = true;
        if (t.has("start")) {
            MapView st = r.section(t, "start", Schema.TASK_START);
            if (st.has("cpl")) {
                startKernel = cpl(st.get("cpl"), st.path("cpl"));
            }
            if (st.has("if")) {
                startIf = flag(st.get("if"), st.path("if"));
            }
        }
        List<Action> steps = new ArrayList<>();
        if (t.has("steps")) {
            steps(t.get("steps"), t.path("steps"), steps);
        }
        return new TaskSpec.Scripted(name, cpu, List.copyOf(steps), startKernel, startIf);
    }

    /** {@code cpl: 0} (kernel) or {@code 3} (user). */
    private boolean cpl(Node n, String path) {
        long c = r.integer(n, path, 0, 3);
        if (c != 0 && c != 3) {
            throw r.error(n, path, "expected a CPL of 0 (kernel) or 3 (user), got " + c);
        }
        return c == 0;
    }

    /** IF as 0/1 (or false/true). */
    private boolean flag(Node n, String path) {
        String text = r.scalar(n, path, "0 or 1").strip();
        return switch (text) {
            case "0", "false" -> false;
            case "1", "true" -> true;
            default -> throw r.error(n, path, "expected 0 or 1 (IF clear or set), got " + Units.quote(text));
        };
    }

    /** {@code enable_apf: FLAGS}: MSR_KVM_ASYNC_PF_INT = the handler's vector, then EN = this vCPU's area | FLAGS. */
    private void enableApf(Node v, String vp, List<Action> out) {
        long flags = r.integer(v, vp, 0, 0x3f);
        long area = guest.isTest() ? guest.test().area(cpu) : GuestKernel.APF_AREA_BASE + 64L * cpu;
        out.add(new Action.WrMsr(MSR_KVM_ASYNC_PF_INT, guest.apfVector()));
        out.add(new Action.WrMsr(MSR_KVM_ASYNC_PF_EN, area | flags));
    }

    private String stepHint() {
        return "a step: one of the words " + String.join(", ", STEP_WORDS) + " or a single-field mapping with "
                + "one of " + String.join(", ", STEP_KEYS);
    }

    private void steps(Node n, String path, List<Action> out) {
        List<Node> items = r.list(n, path, "steps");
        for (int i = 0; i < items.size(); i++) {
            step(items.get(i), path + "[" + i + "]", out);
            if (out.size() > MAX_SCRIPT_STEPS) {
                throw r.error(items.get(i), path + "[" + i + "]", "the script has more than "
                        + MAX_SCRIPT_STEPS + " steps, the limit");
            }
        }
    }

    private void step(Node s, String p, List<Action> out) {
        if (s instanceof ScalarNode sc && !Yaml.isNull(s)) {
            out.add(word(s, p, sc.getValue().strip()));
            return;
        }
        if (!(s instanceof MappingNode m)) {
            throw r.error(s, p, "expected " + stepHint() + ", got " + Yaml.describe(s));
        }
        if (m.getValue().size() != 1) {
            throw r.error(s, p, "expected " + stepHint() + ", got a mapping with " + m.getValue().size()
                    + " fields (write each step as its own list item)");
        }
        NodeTuple t = m.getValue().getFirst();
        if (!(t.getKeyNode() instanceof ScalarNode kn) || Yaml.isNull(t.getKeyNode())) {
            throw r.error(t.getKeyNode(), p, "expected " + stepHint() + ", got " + Yaml.describe(t.getKeyNode())
                    + " as a step name");
        }
        String key = kn.getValue().strip();
        Node v = t.getValueNode();
        String vp = p + "." + key;
        switch (key) {
            case "touch" -> {
                if (v instanceof MappingNode) {
                    MapView tm = r.map(v, vp, List.of("address", "write"), "a mapping {address, write}");
                    Node an = r.require(tm, "address", "an address like 0x300000");
                    out.add(new Action.Touch(ranges.address(an, tm.path("address")),
                            r.boolField(tm, "write", false)));
                } else {
                    out.add(new Action.Touch(ranges.address(v, vp), false));
                }
            }
            case "write" -> out.add(new Action.Touch(ranges.address(v, vp), true));
            case "compute" -> out.add(new Action.Compute(r.duration(v, vp)));
            case "sleep" -> out.add(new Action.Sleep(r.duration(v, vp)));
            case "kernel" -> out.add(new Action.KernelMode(r.bool(v, vp)));
            case "cpl" -> out.add(new Action.KernelMode(cpl(v, vp)));
            case "enable_apf" -> enableApf(v, vp, out);
            case "pause" -> out.add(new Action.Compute(PAUSE_NS * r.integer(v, vp, 1, 1_000_000_000)));
            case "in" -> out.add(new Action.Io((int) r.integer(v, vp, 0, 0xffff), 0, true));
            case "out" -> {
                MapView om = r.map(v, vp, List.of("port", "value"), "a mapping {port, value}");
                if (om.node() == null || Yaml.isNull(om.node())) {
                    throw r.error(v, vp, "expected a mapping {port, value}, got nothing");
                }
                int port = (int) r.integer(r.require(om, "port", "an I/O port 0..0xffff"), om.path("port"), 0, 0xffff);
                long value = om.has("value") ? r.integer(om.get("value"), om.path("value"), 0, 0xffff_ffffL) : 0;
                out.add(new Action.Io(port, value, false));
            }
            case "paging" -> out.add(new Action.SetPaging(r.bool(v, vp)));
            case "lapic" -> out.add(new Action.SetLapicEnabled(r.bool(v, vp)));
            case "popf" -> out.add(new Action.Popf(r.bool(v, vp)));
            case "rdmsr" -> out.add(new Action.RdMsr(msr(v, vp)));
            case "cr3" -> out.add(new Action.SetCr3(r.integer(v, vp, 0, Long.MAX_VALUE)));
            case "l2" -> out.add(new Action.SetGuestMode(r.bool(v, vp)));
            case "regular_pf" -> out.add(new Action.RegularFault(r.address(v, vp)));
            case "wrmsr" -> {
                MapView wm = r.map(v, vp, List.of("msr", "value"), "a mapping {msr, value}");
                if (wm.node() == null || Yaml.isNull(wm.node())) {
                    throw r.error(v, vp, "expected a mapping {msr, value}, got nothing");
                }
                int msr = msr(r.require(wm, "msr", "an MSR number or name like MSR_KVM_ASYNC_PF_EN"),
                        wm.path("msr"));
                long value = r.integer(r.require(wm, "value", "an integer"), wm.path("value"), Long.MIN_VALUE,
                        Long.MAX_VALUE);
                out.add(new Action.WrMsr(msr, value));
            }
            case "repeat" -> {
                MapView rm = r.map(v, vp, List.of("times", "steps"), "a mapping {times, steps}");
                if (rm.node() == null || Yaml.isNull(rm.node())) {
                    throw r.error(v, vp, "expected a mapping {times, steps}, got nothing");
                }
                long times = r.integer(r.require(rm, "times", "an integer of at least 1"), rm.path("times"), 1,
                        Integer.MAX_VALUE);
                Node body = r.require(rm, "steps", "a list of steps");
                List<Action> inner = new ArrayList<>();
                steps(body, rm.path("steps"), inner);
                // checked before expanding, so a huge repeat fails without allocating it
                long total = out.size() + times * inner.size();
                if (total > MAX_SCRIPT_STEPS) {
                    throw r.error(s, p, "repeat expands the script to " + total + " steps, more than the limit of "
                            + MAX_SCRIPT_STEPS);
                }
                for (long k = 0; k < times; k++) {
                    out.addAll(inner);
                }
            }
            default -> {
                if (STEP_WORDS.contains(key) || key.equals("hlt")) {
                    if (!Yaml.isNull(v)) {
                        throw r.error(v, vp, key + " takes no value (write it as a bare word: - " + key + ")");
                    }
                    out.add(word(kn, p, key));
                } else {
                    List<String> all = new ArrayList<>(STEP_KEYS);
                    all.addAll(STEP_WORDS);
                    String sug = Yaml.suggest(key, all);
                    throw r.error(kn, vp, "unknown step (" + sug + "steps: " + String.join(", ", all) + ")");
                }
            }
        }
    }

    private Action word(Node n, String p, String word) {
        return switch (word) {
            case "cli" -> Action.CLI;
            case "sti" -> Action.STI;
            case "halt", "hlt" -> Action.HLT;
            case "init" -> Action.INIT;
            case "cpu_offline" -> Action.CPU_OFFLINE;
            case "cpu_online" -> Action.CPU_ONLINE;
            default -> {
                List<String> all = new ArrayList<>(STEP_WORDS);
                all.addAll(STEP_KEYS);
                String sug = Yaml.suggest(word, all);
                throw r.error(n, p, "expected " + stepHint() + ", got " + Units.quote(word)
                        + (sug.isEmpty() ? "" : " (" + sug.strip() + ")"));
            }
        };
    }

    private int msr(Node n, String path) {
        String text = r.scalar(n, path, "an MSR number or a name (MSR_KVM_ASYNC_PF_EN, _INT, _ACK)");
        String t = text.strip();
        if (!t.isEmpty() && (Character.isDigit(t.charAt(0)) || t.charAt(0) == '-')) {
            // 32-bit MSR indices; a negative number is read as its two's complement
            return (int) r.integer(n, path, Integer.MIN_VALUE, 0xffff_ffffL);
        }
        Integer v = MSR_NAMES.get(t.toLowerCase(Locale.ROOT));
        if (v == null) {
            throw r.error(n, path, "expected an MSR number like 0x4b564d02 or a name (MSR_KVM_ASYNC_PF_EN, "
                    + "MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_ACK, or en, int, ack), got " + Units.quote(text));
        }
        return v;
    }
}
