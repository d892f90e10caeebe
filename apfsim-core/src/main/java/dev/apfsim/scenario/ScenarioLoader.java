package dev.apfsim.scenario;

import dev.apfsim.check.CheckSpec;
import dev.apfsim.check.Perturbation;
import dev.apfsim.guest.Action;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.kvm.HostArch;
import dev.apfsim.kvm.arm64.Arm64Injection;
import dev.apfsim.kvm.x86.HostCosts;
import dev.apfsim.kvm.x86.KvmConfig;
import dev.apfsim.kvm.x86.X86Policy;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.memory.LatencyDistribution;
import dev.apfsim.workload.Pattern;
import dev.apfsim.workload.TaskSpec;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a scenario from YAML (schema in docs/scenarios.md) into a {@link Scenario}.
 *
 * <p>The text is composed into a snakeyaml-engine node tree (every value keeps its line and column), the
 * {@code --set} overrides are applied to that tree, and the tree is converted with strict checks: unknown keys, wrong
 * types, values out of range, bad units and inconsistent fields are all {@link ScenarioException}s whose one-line
 * message names the file position and the field path.
 */
public final class ScenarioLoader {

    /** Most steps a script may have after {@code repeat} expansion. */
    public static final int MAX_SCRIPT_STEPS = 1_000_000;

    public static final int MSR_KVM_ASYNC_PF_EN = 0x4b564d02;
    public static final int MSR_KVM_ASYNC_PF_INT = 0x4b564d06;
    public static final int MSR_KVM_ASYNC_PF_ACK = 0x4b564d07;

    static final long PAGE = 4096;

    private ScenarioLoader() {
    }

    /** Loads a scenario without overrides; see {@link #load(String, String, List)}. */
    public static Scenario load(String fileName, String yamlText) {
        return load(fileName, yamlText, List.of());
    }

    /**
     * Loads a scenario from text.
     *
     * @param fileName  name used in error messages; its base name without {@code .yaml}/{@code .yml} is the default
     *                  scenario name
     * @param yamlText  the YAML document
     * @param overrides {@code PATH=VALUE} strings as given to {@code --set}, applied in order
     * @throws ScenarioException for any problem in the text or the overrides
     */
    public static Scenario load(String fileName, String yamlText, List<String> overrides) {
        return load(fileName, defaultName(fileName), yamlText, overrides);
    }

    /** Reads and loads a file (UTF-8). */
    public static Scenario loadFile(Path file) {
        return loadFile(file, List.of());
    }

    /** Reads and loads a file (UTF-8) with {@code --set} overrides. */
    public static Scenario loadFile(Path file, List<String> overrides) {
        String text;
        try {
            text = java.nio.file.Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ScenarioException(file.toString(), "no such file");
        } catch (CharacterCodingException e) {
            throw new ScenarioException(file.toString(), "cannot read file: it is not valid UTF-8 text");
        } catch (IOException e) {
            throw new ScenarioException(file.toString(), "cannot read file: " + e);
        }
        return load(file.toString(), text, overrides);
    }

    /** Loads with an explicit default name (built-in scenarios use a source label that is not a file name). */
    static Scenario load(String source, String defaultName, String yamlText, List<String> overrides) {
        List<String> sets = overrides == null ? List.of() : overrides;
        MappingNode root = rootMapping(source, yamlText);
        for (String o : sets) {
            Overrides.apply(root, o);
        }
        Scenario s = new Converter(source).scenario(root, defaultName);
        // every variant must give a valid scenario too; a bad one is reported at its entry in the file
        for (Map.Entry<String, List<Variant>> v : variantNodes(source, root).entrySet()) {
            MappingNode copy = rootMapping(source, yamlText);
            for (String o : sets) {
                Overrides.apply(copy, o);
            }
            Variant current = null;
            try {
                for (Variant x : v.getValue()) {
                    current = x;
                    Overrides.apply(copy, x.override());
                }
                current = null;
                new Converter(source).scenario(copy, defaultName);
            } catch (ScenarioException e) {
                // the entry the error is about: the one being applied, or the one whose value failed to convert
                Variant at = current;
                for (Variant x : v.getValue()) {
                    if (at == null && (Yaml.OVERRIDE_PREFIX + x.override()).equals(e.source())) {
                        at = x;
                    }
                }
                if (at != null) {
                    throw Yaml.error(at.node(), source, at.path(),
                            (e.field() == null ? "" : "field " + e.field() + ": ") + e.detail());
                }
                throw Yaml.error(v.getValue().isEmpty() ? null : v.getValue().getFirst().node(), source,
                        "variants." + v.getKey(), "with this variant the scenario is invalid: " + e.getMessage());
            }
        }
        return s;
    }

    /**
     * The {@code variants} section: variant name -> its {@code --set} overrides, in file order (empty if the file
     * has none). {@code apfsim compare} runs each as {@code --set} overrides on top of the user's.
     */
    public static Map<String, List<String>> variants(String fileName, String yamlText) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        variantNodes(fileName, rootMapping(fileName, yamlText)).forEach((name, vs) ->
                out.put(name, vs.stream().map(Variant::override).toList()));
        return java.util.Collections.unmodifiableMap(out);
    }

    private record Variant(String override, Node node, String path) {
    }

    /** Shape check of {@code variants: {NAME: [PATH=VALUE, ...], ...}}. */
    private static Map<String, List<Variant>> variantNodes(String source, MappingNode root) {
        Map<String, List<Variant>> out = new LinkedHashMap<>();
        Node section = null;
        for (NodeTuple t : root.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("variants")) {
                section = t.getValueNode();
            }
        }
        if (section == null || Yaml.isNull(section)) {
            return out;
        }
        if (!(section instanceof MappingNode m)) {
            throw Yaml.error(section, source, "variants", "expected a mapping of variant names to lists of "
                    + "PATH=VALUE overrides, like {old: [host.policy.token_wrap_fix=false], fixed: []}, got "
                    + Yaml.describe(section));
        }
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k) || Yaml.isNull(k) || k.getValue().isBlank()) {
                throw Yaml.error(t.getKeyNode(), source, "variants", "expected a variant name, got "
                        + Yaml.describe(t.getKeyNode()));
            }
            String name = k.getValue();
            String path = "variants." + name;
            if (out.containsKey(name)) {
                throw Yaml.error(k, source, path, "variant given twice");
            }
            Node v = t.getValueNode();
            List<Variant> list = new ArrayList<>();
            if (!Yaml.isNull(v)) {
                if (!(v instanceof SequenceNode seq)) {
                    throw Yaml.error(v, source, path, "expected a list of PATH=VALUE overrides, got "
                            + Yaml.describe(v));
                }
                for (int i = 0; i < seq.getValue().size(); i++) {
                    Node item = seq.getValue().get(i);
                    String ip = path + "[" + i + "]";
                    if (!(item instanceof ScalarNode sc) || Yaml.isNull(item) || sc.getValue().indexOf('=') <= 0) {
                        throw Yaml.error(item, source, ip, "expected an override PATH=VALUE like "
                                + "host.policy.token_wrap_fix=false, got " + Yaml.describe(item));
                    }
                    list.add(new Variant(sc.getValue(), item, ip));
                }
            }
            out.put(name, List.copyOf(list));
        }
        return out;
    }

    /** Composes the text and checks that the document is a mapping (an empty document is an empty mapping). */
    static MappingNode rootMapping(String source, String yamlText) {
        Node node = Yaml.compose(source, yamlText == null ? "" : yamlText);
        if (node == null || Yaml.isNull(node)) {
            return new MappingNode(Tag.MAP, true, new ArrayList<>(), FlowStyle.BLOCK,
                    node == null ? java.util.Optional.empty() : node.getStartMark(),
                    node == null ? java.util.Optional.empty() : node.getEndMark());
        }
        if (!(node instanceof MappingNode m)) {
            throw Yaml.error(node, source, null, "expected the scenario to be a mapping of fields (name:, vm:, "
                    + "host:, ...), got " + Yaml.describe(node));
        }
        return m;
    }

    /** {@code dir/foo.yaml} -> {@code foo}. */
    static String defaultName(String fileName) {
        if (fileName == null || fileName.isEmpty()) {
            return "scenario";
        }
        String base = fileName.substring(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
        if (base.endsWith(".yaml")) {
            base = base.substring(0, base.length() - 5);
        } else if (base.endsWith(".yml")) {
            base = base.substring(0, base.length() - 4);
        }
        return base.isEmpty() ? "scenario" : base;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** A mapping node with its keys checked: known, scalar, not duplicated. */
    private record MapView(Node node, String path, Map<String, NodeTuple> entries) {
        Node get(String key) {
            NodeTuple t = entries.get(key);
            return t == null ? null : t.getValueNode();
        }

        boolean has(String key) {
            return entries.containsKey(key);
        }

        Node keyNode(String key) {
            NodeTuple t = entries.get(key);
            return t == null ? null : t.getKeyNode();
        }

        String path(String key) {
            return path.isEmpty() ? key : path + "." + key;
        }
    }

    /** One conversion; holds the source name for nodes without marks. */
    private static final class Converter {
        private final String source;

        Converter(String source) {
            this.source = source;
        }

        private ScenarioException error(Node at, String path, String detail) {
            return Yaml.error(at, source, path == null || path.isEmpty() ? null : path, detail);
        }

        // ---- structure -------------------------------------------------------------------------------------------

        private MapView map(Node n, String path, Collection<String> allowed, String what) {
            if (n == null || Yaml.isNull(n)) {
                return new MapView(n, path, Map.of());
            }
            if (!(n instanceof MappingNode m)) {
                throw error(n, path, "expected " + what + ", got " + Yaml.describe(n));
            }
            Map<String, NodeTuple> entries = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                Node k = t.getKeyNode();
                if (!(k instanceof ScalarNode ks) || Yaml.isNull(k)) {
                    throw error(k, path, "expected a field name, got " + Yaml.describe(k));
                }
                String key = ks.getValue();
                String keyPath = path.isEmpty() ? key : path + "." + key;
                NodeTuple earlier = entries.get(key);
                if (earlier != null) {
                    String where = earlier.getKeyNode().getStartMark()
                            .filter(mk -> !Yaml.isOverride(mk.getName()))
                            .map(mk -> " (first given at line " + (mk.getLine() + 1) + ")").orElse("");
                    throw error(k, keyPath, "field given twice" + where);
                }
                if (!allowed.contains(key)) {
                    throw error(k, keyPath, "unknown field (" + Yaml.suggest(key, allowed) + "fields of "
                            + (path.isEmpty() ? "the top level" : path) + ": " + String.join(", ", allowed) + ")");
                }
                entries.put(key, t);
            }
            return new MapView(n, path, entries);
        }

        private MapView section(MapView parent, String key, Schema.Obj shape) {
            return map(parent.get(key), parent.path(key), shape.fields().keySet(), "a mapping of "
                    + String.join(", ", shape.fields().keySet()));
        }

        private Node require(MapView m, String key, String what) {
            Node n = m.get(key);
            if (n == null) {
                Node at = m.node();
                throw error(at, m.path(key), "missing required field (" + what + ")");
            }
            return n;
        }

        /** Elements of a list field; absent or null = empty. */
        private List<Node> list(Node n, String path, String what) {
            if (n == null || Yaml.isNull(n)) {
                return List.of();
            }
            if (!(n instanceof SequenceNode s)) {
                throw error(n, path, "expected a list of " + what + ", got " + Yaml.describe(n));
            }
            return s.getValue();
        }

        private String scalar(Node n, String path, String expected) {
            if (n instanceof ScalarNode s && !Yaml.isNull(n)) {
                return s.getValue();
            }
            throw error(n, path, "expected " + expected + ", got " + Yaml.describe(n));
        }

        // ---- scalars ---------------------------------------------------------------------------------------------

        private String string(Node n, String path) {
            return scalar(n, path, "a string");
        }

        private long duration(Node n, String path) {
            String text = scalar(n, path, "a duration like 50us");
            try {
                return Units.parseDuration(text);
            } catch (IllegalArgumentException e) {
                throw error(n, path, e.getMessage());
            }
        }

        private long duration(Node n, String path, long min) {
            long v = duration(n, path);
            if (v < min) {
                throw error(n, path, "expected a duration of at least " + Units.formatDuration(min) + ", got "
                        + scalar(n, path, ""));
            }
            return v;
        }

        private long size(Node n, String path) {
            String text = scalar(n, path, "a size like 64MiB");
            try {
                return Units.parseSize(text);
            } catch (IllegalArgumentException e) {
                throw error(n, path, e.getMessage());
            }
        }

        private long address(Node n, String path) {
            String text = scalar(n, path, "an address like 0x300000");
            try {
                return Units.parseAddress(text);
            } catch (IllegalArgumentException e) {
                throw error(n, path, e.getMessage());
            }
        }

        private long integer(Node n, String path, long min, long max) {
            String text = scalar(n, path, "an integer");
            long v;
            try {
                v = Units.parseInteger(text);
            } catch (IllegalArgumentException e) {
                throw error(n, path, e.getMessage());
            }
            if (v < min || v > max) {
                String range = max >= Integer.MAX_VALUE ? "of at least " + min
                        : min == Long.MIN_VALUE ? "of at most " + max : "from " + min + " to " + max;
                throw error(n, path, "expected an integer " + range + ", got " + text.strip());
            }
            return v;
        }

        private int intField(MapView m, String key, int min, int max, int def) {
            Node n = m.get(key);
            return n == null ? def : (int) integer(n, m.path(key), min, max);
        }

        private static final java.util.regex.Pattern DECIMAL =
                java.util.regex.Pattern.compile("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");

        private double number(Node n, String path, double min, double max, boolean minExclusive, String what) {
            String text = scalar(n, path, what);
            String range = (minExclusive ? "greater than " + fmt(min) : "from " + fmt(min)) + " to " + fmt(max);
            if (!DECIMAL.matcher(text.strip()).matches()) {
                throw error(n, path, "expected " + what + " " + range + ", got " + Units.quote(text));
            }
            double v = Double.parseDouble(text.strip());
            if (v < min || v > max || minExclusive && v == min) {
                throw error(n, path, "expected " + what + " " + range + ", got " + text.strip());
            }
            return v;
        }

        private double fraction(MapView m, String key, double def) {
            Node n = m.get(key);
            return n == null ? def : number(n, m.path(key), 0, 1, false, "a fraction");
        }

        private static String fmt(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }

        private boolean bool(Node n, String path) {
            String text = scalar(n, path, "true or false");
            return switch (text) {
                case "true", "True", "TRUE" -> true;
                case "false", "False", "FALSE" -> false;
                default -> throw error(n, path, "expected true or false, got " + Units.quote(text));
            };
        }

        private boolean boolField(MapView m, String key, boolean def) {
            Node n = m.get(key);
            return n == null ? def : bool(n, m.path(key));
        }

        private long durField(MapView m, String key, long def) {
            Node n = m.get(key);
            return n == null ? def : duration(n, m.path(key));
        }

        /** One of {@code options} (keys are the documented spellings; case and -/_ are not significant). */
        private <E> E choice(Node n, String path, Map<String, E> options) {
            String expected = "one of " + String.join(", ", options.keySet());
            String text = scalar(n, path, expected);
            String norm = text.strip().toLowerCase(Locale.ROOT).replace('_', '-');
            E v = options.get(norm);
            if (v == null) {
                throw error(n, path, "expected " + expected + ", got " + Units.quote(text)
                        + (Yaml.suggest(norm, options.keySet()).isEmpty() ? ""
                        : " (" + Yaml.suggest(norm, options.keySet()).strip() + ")"));
            }
            return v;
        }

        private <E> E choiceField(MapView m, String key, Map<String, E> options, E def) {
            Node n = m.get(key);
            return n == null ? def : choice(n, m.path(key), options);
        }

        // ---- the scenario ----------------------------------------------------------------------------------------

        Scenario scenario(MappingNode rootNode, String defaultName) {
            MapView root = map(rootNode, "", Schema.ROOT.fields().keySet(), "a mapping");

            String name = root.has("name") ? nonEmpty(root.get("name"), "name") : defaultName;
            String description = root.has("description") ? string(root.get("description"), "description").strip()
                    : "";
            long seed = root.has("seed") ? integer(root.get("seed"), "seed", Long.MIN_VALUE, Long.MAX_VALUE) : 1;
            long durationNs = root.has("duration") ? duration(root.get("duration"), "duration", 1) : Units.S;
            int livelock = intField(root, "livelock_retries", 1, Integer.MAX_VALUE, 1000);
            long liveness = root.has("liveness_bound") ? duration(root.get("liveness_bound"), "liveness_bound", 1)
                    : Scenario.DEFAULT_LIVENESS_BOUND_NS;

            // vm first: the other sections are checked against it
            MapView vm = section(root, "vm", Schema.VM);
            int vcpus = intField(vm, "vcpus", 1, 256, 1);
            long memory = Units.GIB;
            if (vm.has("memory")) {
                Node n = vm.get("memory");
                memory = size(n, vm.path("memory"));
                if (memory < Units.MIB || memory > Units.TIB) {
                    throw error(n, vm.path("memory"), "expected a size from 1MiB to 1TiB, got "
                            + scalar(n, "", "").strip());
                }
                pageMultiple(n, vm.path("memory"), memory);
            }

            MapView host = section(root, "host", Schema.HOST);
            long limit = memory;
            if (host.has("memory_limit")) {
                Node n = host.get("memory_limit");
                String p = host.path("memory_limit");
                limit = size(n, p);
                pageMultiple(n, p, limit);
                if (limit < PAGE) {
                    throw error(n, p, "expected a size of at least 4KiB, got " + scalar(n, p, "").strip());
                }
                if (limit > memory) {
                    throw error(n, p, "expected at most vm.memory (" + Units.formatSize(memory) + "), got "
                            + scalar(n, p, "").strip());
                }
            }
            KvmConfig kvm = kvm(host);
            DeviceSpec swap = device(section(host, "swap", Schema.DEVICE),
                    new LatencyDistribution.LogNormal(30 * Units.US, 120 * Units.US), 32);
            DeviceSpec remote = device(section(host, "remote", Schema.DEVICE),
                    new LatencyDistribution.Constant(Units.MS), 64);

            MapView mem = section(root, "memory", Schema.MEMORY);
            List<MemoryRegion> regions = regions(mem, memory);
            List<FailureRule> failures = failures(mem, memory);

            GuestConfig guest = guest(section(root, "guest", Schema.GUEST));

            MapView workload = section(root, "workload", Schema.WORKLOAD);
            List<TaskSpec> tasks = tasks(workload, vcpus, memory);

            CheckSpec check = check(section(root, "check", Schema.CHECK));

            return new Scenario(name, description, seed, durationNs, vcpus, memory, limit, kvm, swap, remote,
                    List.copyOf(regions), List.copyOf(failures), guest, List.copyOf(tasks), livelock, liveness, check);
        }

        private String nonEmpty(Node n, String path) {
            String s = string(n, path);
            if (s.isBlank()) {
                throw error(n, path, "expected a non-empty string, got " + Units.quote(s));
            }
            return s;
        }

        private void pageMultiple(Node n, String path, long v) {
            if (v % PAGE != 0) {
                throw error(n, path, "expected a multiple of 4KiB (4096 bytes), got " + scalar(n, path, "").strip()
                        + " = " + v + " bytes");
            }
        }

        // ---- host ------------------------------------------------------------------------------------------------

        private static final Map<String, X86Policy.PageReadyDelivery> PAGE_READY = ordered(
                "interrupt", X86Policy.PageReadyDelivery.INTERRUPT, "pf-legacy", X86Policy.PageReadyDelivery.PF_LEGACY);
        private static final Map<String, X86Policy.Cr0PgToggle> CR0 = ordered(
                "keep", X86Policy.Cr0PgToggle.KEEP, "clear-queue", X86Policy.Cr0PgToggle.CLEAR_QUEUE);
        private static final Map<String, X86Policy.PrefaultContext> PREFAULT = ordered(
                "same-context", X86Policy.PrefaultContext.SAME_CONTEXT,
                "any-context", X86Policy.PrefaultContext.ANY_CONTEXT);
        private static final Map<String, X86Policy.ErrorPolicy> ERROR_POLICY = ordered(
                "ignore", X86Policy.ErrorPolicy.IGNORE, "error-gfn", X86Policy.ErrorPolicy.ERROR_GFN,
                "error-gfn-hash", X86Policy.ErrorPolicy.ERROR_GFN_HASH,
                "efault-request", X86Policy.ErrorPolicy.EFAULT_REQUEST,
                "inject-error", X86Policy.ErrorPolicy.INJECT_ERROR);
        private static final Map<String, X86Policy.NestedAsyncPf> NESTED_ASYNC_PF = ordered(
                "vmexit", X86Policy.NestedAsyncPf.VMEXIT,
                "inject-l2", X86Policy.NestedAsyncPf.INJECT_L2);
        private static final Map<String, X86Policy.NestedPendingSave> NESTED_PENDING_SAVE = ordered(
                "as-pf", X86Policy.NestedPendingSave.AS_PF,
                "async-flag", X86Policy.NestedPendingSave.ASYNC_FLAG,
                "exit-at-queue", X86Policy.NestedPendingSave.EXIT_AT_QUEUE);

        private static final Map<String, HostArch> ARCH = ordered("x86", HostArch.X86, "arm64", HostArch.ARM64);
        private static final Map<String, Arm64Injection> ARM64_INJECTION = ordered(
                "pc-range", Arm64Injection.PC_RANGE, "unguarded", Arm64Injection.UNGUARDED,
                "sdei", Arm64Injection.SDEI);

        /** {@code apf.id} is a 20-bit counter (token = id << 12 | vcpu_id, §1.6). */
        private static final int APF_ID_MAX = 0xfffff;

        private KvmConfig kvm(MapView host) {
            KvmConfig d = KvmConfig.defaults();
            MapView cpuid = section(host, "cpuid", Schema.CPUID);
            MapView c = section(host, "costs", Schema.COSTS);
            HostCosts dc = d.costs();
            HostCosts costs = new HostCosts(
                    durField(c, "vm_exit", dc.vmExitNs()),
                    durField(c, "vm_entry", dc.vmEntryNs()),
                    durField(c, "ept_violation", dc.eptViolationNs()),
                    durField(c, "minor_fault", dc.minorFaultNs()),
                    durField(c, "async_setup", dc.asyncSetupNs()),
                    durField(c, "msr", dc.msrNs()),
                    durField(c, "halt_wakeup", dc.haltWakeupNs()),
                    durField(c, "worker_dispatch", dc.workerDispatchNs()),
                    durField(c, "sigbus", dc.sigbusNs()));
            MapView p = section(host, "policy", Schema.POLICY);
            X86Policy dp = d.policy();
            X86Policy policy = new X86Policy(
                    choiceField(p, "page_ready_delivery", PAGE_READY, dp.pageReadyDelivery()),
                    choiceField(p, "cr0_pg_toggle", CR0, dp.cr0PgToggle()),
                    boolField(p, "deliver_when_paging_off", dp.deliverWhenPagingOff()),
                    choiceField(p, "prefault", PREFAULT, dp.prefault()),
                    boolField(p, "lapic_disabled_fix", dp.lapicDisabledFix()),
                    boolField(p, "token_wrap_fix", dp.tokenWrapFix()),
                    choiceField(p, "error_policy", ERROR_POLICY, dp.errorPolicy()),
                    choiceField(p, "nested_async_pf", NESTED_ASYNC_PF, dp.nestedAsyncPf()),
                    choiceField(p, "nested_pending_save", NESTED_PENDING_SAVE, dp.nestedPendingSave()));
            return new KvmConfig(
                    boolField(host, "async_pf", d.asyncPf()),
                    boolField(host, "lapic_in_kernel", d.lapicInKernel()),
                    boolField(host, "enforce_pv_cpuid", d.enforcePvCpuid()),
                    boolField(cpuid, "async_pf", d.cpuidAsyncPf()),
                    boolField(cpuid, "async_pf_vmexit", d.cpuidAsyncPfVmexit()),
                    boolField(cpuid, "async_pf_int", d.cpuidAsyncPfInt()),
                    boolField(host, "hlt_in_guest", d.hltInGuest()),
                    costs, policy,
                    boolField(host, "tdp", d.tdp()),
                    intField(host, "apf_id_start", 0, APF_ID_MAX, d.apfIdStart()),
                    choiceField(host, "arch", ARCH, d.arch()),
                    choiceField(p, "arm64_injection", ARM64_INJECTION, d.arm64Injection()));
        }

        private DeviceSpec device(MapView m, LatencyDistribution defLatency, int defDepth) {
            LatencyDistribution lat = m.has("latency") ? latency(m.get("latency"), m.path("latency"), defLatency)
                    : defLatency;
            int depth = intField(m, "queue_depth", 1, 1_000_000, defDepth);
            return new DeviceSpec(lat, depth);
        }

        // ---- LATENCY ---------------------------------------------------------------------------------------------

        private static final List<String> LATENCY_TYPES = List.of("constant", "exponential", "lognormal", "empirical");

        private String latencyHint() {
            return "a duration like 50us, a device preset (" + String.join(", ", LatencyPresets.all().keySet())
                    + ") or a mapping with type: " + String.join(" | ", LATENCY_TYPES);
        }

        /**
         * A LATENCY value.
         *
         * @param def the field's default, or null if the field is required. A mapping may leave out {@code type} when
         *            its fields tell (value: constant, mean: exponential, median/p99: lognormal, points: empirical;
         *            no fields: the default's type), and fields it leaves out are taken from {@code def} when that
         *            has the same type, so {@code --set host.swap.latency.median=50us} keeps the default p99.
         */
        LatencyDistribution latency(Node n, String path, LatencyDistribution def) {
            if (n instanceof ScalarNode s && !Yaml.isNull(n)) {
                String text = s.getValue().strip();
                if (!text.isEmpty() && (Character.isDigit(text.charAt(0)) || text.charAt(0) == '.'
                        || text.charAt(0) == '-' || text.charAt(0) == '+')) {
                    return new LatencyDistribution.Constant(duration(n, path));
                }
                LatencyPresets.Preset p = LatencyPresets.get(text.toLowerCase(Locale.ROOT));
                if (p == null) {
                    String sug = Yaml.suggest(text, LatencyPresets.all().keySet());
                    throw error(n, path, "expected " + latencyHint() + ", got " + Units.quote(s.getValue())
                            + (sug.isEmpty() ? "" : " (" + sug.strip() + ")"));
                }
                return p.latency();
            }
            if (!(n instanceof MappingNode)) {
                throw error(n, path, "expected " + latencyHint() + ", got " + Yaml.describe(n));
            }
            MapView any = map(n, path, Schema.LATENCY.fields().keySet(), "a latency");
            String type;
            if (any.has("type")) {
                type = choice(any.get("type"), any.path("type"), names(LATENCY_TYPES));
            } else {
                type = inferType(any, def);
            }
            List<String> keys = switch (type) {
                case "constant" -> List.of("type", "value");
                case "exponential" -> List.of("type", "mean");
                case "lognormal" -> List.of("type", "median", "p99");
                default -> List.of("type", "points");
            };
            for (String k : any.entries().keySet()) {
                if (!keys.contains(k)) {
                    throw error(any.keyNode(k), any.path(k), "unknown field for a " + type + " latency (fields: "
                            + String.join(", ", keys) + ")");
                }
            }
            return switch (type) {
                case "constant" -> new LatencyDistribution.Constant(any.has("value")
                        ? duration(any.get("value"), any.path("value"))
                        : def instanceof LatencyDistribution.Constant c ? c.ns()
                        : duration(require(any, "value", "a duration"), any.path("value")));
                case "exponential" -> new LatencyDistribution.Exponential(any.has("mean")
                        ? duration(any.get("mean"), any.path("mean"), 1)
                        : def instanceof LatencyDistribution.Exponential e ? e.meanNs()
                        : duration(require(any, "mean", "a duration"), any.path("mean"), 1));
                case "lognormal" -> {
                    LatencyDistribution.LogNormal d = def instanceof LatencyDistribution.LogNormal l ? l : null;
                    long median = any.has("median") || d == null
                            ? duration(require(any, "median", "a duration"), any.path("median"), 1) : d.medianNs();
                    long p99 = any.has("p99") || d == null
                            ? duration(require(any, "p99", "a duration at least the median"), any.path("p99"))
                            : d.p99Ns();
                    if (p99 < median) {
                        if (any.has("p99")) {
                            Node p99n = any.get("p99");
                            throw error(p99n, any.path("p99"), "expected a p99 at least the median ("
                                    + Units.formatDuration(median) + "), got " + scalar(p99n, "", "").strip());
                        }
                        Node mn = any.get("median");
                        throw error(mn, any.path("median"), "expected a median at most the p99 ("
                                + Units.formatDuration(p99) + ", the default; set p99 too), got "
                                + scalar(mn, "", "").strip());
                    }
                    yield new LatencyDistribution.LogNormal(median, p99);
                }
                default -> any.has("points") || !(def instanceof LatencyDistribution.Empirical e)
                        ? empirical(require(any, "points", "a list of [duration, cumulative probability]"),
                        any.path("points"))
                        : e;
            };
        }

        private String inferType(MapView m, LatencyDistribution def) {
            Set<String> given = m.entries().keySet();
            String type = null;
            if (given.isEmpty()) {
                type = def == null ? null : switch (def) {
                    case LatencyDistribution.Constant c -> "constant";
                    case LatencyDistribution.Exponential e -> "exponential";
                    case LatencyDistribution.LogNormal l -> "lognormal";
                    case LatencyDistribution.Empirical e -> "empirical";
                };
            } else if (given.equals(Set.of("value"))) {
                type = "constant";
            } else if (given.equals(Set.of("mean"))) {
                type = "exponential";
            } else if (Set.of("median", "p99").containsAll(given)) {
                type = "lognormal";
            } else if (given.equals(Set.of("points"))) {
                type = "empirical";
            }
            if (type == null) {
                throw error(m.node(), m.path("type"), "missing required field (one of "
                        + String.join(", ", LATENCY_TYPES) + (given.isEmpty() ? ""
                        : "; the fields " + String.join(", ", given) + " do not tell which") + ")");
            }
            return type;
        }

        private LatencyDistribution empirical(Node n, String path) {
            List<Node> items = list(n, path, "[duration, cumulative probability] points");
            if (items.isEmpty()) {
                throw error(n, path, "expected at least one [duration, cumulative probability] point, got "
                        + Yaml.describe(n));
            }
            List<LatencyDistribution.Empirical.Point> points = new ArrayList<>();
            long prevNs = -1;
            double prevC = -1;
            for (int i = 0; i < items.size(); i++) {
                Node item = items.get(i);
                String ip = path + "[" + i + "]";
                if (!(item instanceof SequenceNode pair) || pair.getValue().size() != 2) {
                    throw error(item, ip, "expected a point [duration, cumulative probability] like [50us, 0.9], got "
                            + Yaml.describe(item));
                }
                Node dn = pair.getValue().get(0);
                Node cn = pair.getValue().get(1);
                long ns = duration(dn, ip + "[0]");
                double c = number(cn, ip + "[1]", 0, 1, false, "a cumulative probability");
                if (ns < prevNs) {
                    throw error(dn, ip + "[0]", "expected latencies in increasing order: at least "
                            + Units.formatDuration(prevNs) + ", got " + scalar(dn, "", "").strip());
                }
                if (c <= prevC) {
                    throw error(cn, ip + "[1]", "expected cumulative probabilities in increasing order: more than "
                            + fmt(prevC) + ", got " + scalar(cn, "", "").strip());
                }
                if (c == 0 && i > 0) {
                    throw error(cn, ip + "[1]", "expected a cumulative probability above 0 (only the first point may "
                            + "have 0), got " + scalar(cn, "", "").strip());
                }
                points.add(new LatencyDistribution.Empirical.Point(ns, c));
                prevNs = ns;
                prevC = c;
            }
            if (prevC != 1.0) {
                Node lastC = ((SequenceNode) items.getLast()).getValue().get(1);
                throw error(lastC, path + "[" + (items.size() - 1) + "][1]",
                        "expected the last cumulative probability to be 1.0, got " + scalar(lastC, "", "").strip());
            }
            return new LatencyDistribution.Empirical(List.copyOf(points));
        }

        // ---- memory ----------------------------------------------------------------------------------------------

        private static final Map<String, MemoryRegion.State> STATES = ordered(
                "untouched", MemoryRegion.State.UNTOUCHED, "resident", MemoryRegion.State.RESIDENT,
                "swapped", MemoryRegion.State.SWAPPED, "remote", MemoryRegion.State.REMOTE);

        private static final Map<String, FailureRule.Kind> KINDS = ordered(
                "sigbus", FailureRule.Kind.SIGBUS, "unmapped", FailureRule.Kind.UNMAPPED,
                "hwpoison", FailureRule.Kind.HWPOISON, "never", FailureRule.Kind.NEVER,
                "spurious-wake", FailureRule.Kind.SPURIOUS_WAKE, "zero-fill", FailureRule.Kind.ZERO_FILL);

        private List<MemoryRegion> regions(MapView mem, long memory) {
            List<MemoryRegion> out = new ArrayList<>();
            List<Node> items = list(mem.get("regions"), mem.path("regions"), "regions");
            List<String> paths = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                String p = mem.path("regions") + "[" + i + "]";
                MapView r = map(items.get(i), p, Schema.REGION.fields().keySet(),
                        "a region {start, size, state}");
                if (r.node() == null || Yaml.isNull(r.node())) {
                    throw error(items.get(i), p, "expected a region {start, size, state}, got nothing");
                }
                long[] range = range(r, memory, "region", true);
                MemoryRegion.State state = choice(require(r, "state", "one of " + String.join(", ", STATES.keySet())),
                        r.path("state"), STATES);
                for (int j = 0; j < out.size(); j++) {
                    MemoryRegion o = out.get(j);
                    if (range[0] < o.start() + o.size() && o.start() < range[0] + range[1]) {
                        Node at = r.has("start") ? r.get("start") : r.get("size");
                        throw error(at, r.path(r.has("start") ? "start" : "size"), "region "
                                + Units.formatHex(range[0]) + ".." + Units.formatHex(range[0] + range[1])
                                + " overlaps " + paths.get(j) + " (" + Units.formatHex(o.start()) + ".."
                                + Units.formatHex(o.start() + o.size()) + ")");
                    }
                }
                out.add(new MemoryRegion(range[0], range[1], state));
                paths.add(p);
            }
            return out;
        }

        /**
         * {start, size} of a page-aligned range inside guest memory.
         *
         * @param sizeRequired false: size defaults to 4KiB
         */
        private long[] range(MapView r, long memory, String what, boolean sizeRequired) {
            long start = 0;
            if (r.has("start")) {
                Node sn = r.get("start");
                start = address(sn, r.path("start"));
                if (start % PAGE != 0) {
                    throw error(sn, r.path("start"), "expected a 4KiB-aligned address, got "
                            + scalar(sn, "", "").strip());
                }
                if (start >= memory) {
                    throw error(sn, r.path("start"), "expected an address inside guest memory (below vm.memory = "
                            + Units.formatSize(memory) + " = " + Units.formatHex(memory) + "), got "
                            + scalar(sn, "", "").strip());
                }
            }
            long size = PAGE;
            Node zn = sizeRequired ? require(r, "size", "a size like 2MiB") : r.get("size");
            if (zn != null) {
                size = size(zn, r.path("size"));
                if (size == 0) {
                    throw error(zn, r.path("size"), "expected a size of at least 4KiB, got "
                            + scalar(zn, "", "").strip());
                }
                pageMultiple(zn, r.path("size"), size);
                if (size > memory - start) {
                    throw error(zn, r.path("size"), "the " + what + " " + Units.formatHex(start) + ".."
                            + Units.formatHex(start + size) + " extends past the end of guest memory (vm.memory = "
                            + Units.formatSize(memory) + " = " + Units.formatHex(memory) + ")");
                }
            } else if (size > memory - start) {
                throw error(r.node(), r.path("size"), "the " + what + " extends past the end of guest memory");
            }
            return new long[]{start, size};
        }

        // ---- check -----------------------------------------------------------------------------------------------

        private static final Map<String, Perturbation.Kind> PERTURB_KINDS;

        static {
            Map<String, Perturbation.Kind> m = new LinkedHashMap<>();
            for (Perturbation.Kind k : Perturbation.Kind.values()) {
                m.put(k.key(), k);
            }
            PERTURB_KINDS = java.util.Collections.unmodifiableMap(m);
        }

        private CheckSpec check(MapView c) {
            if (c.entries().isEmpty()) {
                return CheckSpec.NONE;
            }
            long scheduleSeed = c.has("schedule_seed")
                    ? integer(c.get("schedule_seed"), c.path("schedule_seed"), Long.MIN_VALUE, Long.MAX_VALUE) : 0;
            List<Perturbation> perturbations = new ArrayList<>();
            List<Node> items = list(c.get("perturbations"), c.path("perturbations"), "perturbations");
            for (int i = 0; i < items.size(); i++) {
                String p = c.path("perturbations") + "[" + i + "]";
                String what = "a perturbation {at, cpu, kind, duration}";
                MapView pm = map(items.get(i), p, Schema.PERTURBATION.fields().keySet(), what);
                if (pm.node() == null || Yaml.isNull(pm.node())) {
                    throw error(items.get(i), p, "expected " + what + ", got nothing");
                }
                long at = duration(require(pm, "at", "a duration"), pm.path("at"));
                int cpu = intField(pm, "cpu", 0, 255, 0);
                Perturbation.Kind kind = choice(require(pm, "kind", "one of "
                        + String.join(", ", PERTURB_KINDS.keySet())), pm.path("kind"), PERTURB_KINDS);
                long dur = durField(pm, "duration", 0);
                perturbations.add(new Perturbation(at, cpu, kind, dur));
            }
            List<Perturbation.Kind> kinds = new ArrayList<>();
            List<Node> kindNodes = list(c.get("perturb"), c.path("perturb"), "perturbation kinds");
            for (int i = 0; i < kindNodes.size(); i++) {
                Perturbation.Kind k = choice(kindNodes.get(i), c.path("perturb") + "[" + i + "]", PERTURB_KINDS);
                if (kinds.contains(k)) {
                    throw error(kindNodes.get(i), c.path("perturb") + "[" + i + "]", "perturbation kind "
                            + k.key() + " is listed twice");
                }
                kinds.add(k);
            }
            int max = intField(c, "max_perturbations", 0, 1_000_000, 0);
            double jitter = c.has("jitter") ? number(c.get("jitter"), c.path("jitter"), 0, 1, false,
                    "a relative jitter") : 0;
            return new CheckSpec(scheduleSeed, List.copyOf(perturbations), List.copyOf(kinds), max, jitter);
        }

        private List<FailureRule> failures(MapView mem, long memory) {
            List<FailureRule> out = new ArrayList<>();
            List<Node> items = list(mem.get("failures"), mem.path("failures"), "failures");
            for (int i = 0; i < items.size(); i++) {
                String p = mem.path("failures") + "[" + i + "]";
                MapView f = map(items.get(i), p, Schema.FAILURE.fields().keySet(),
                        "a failure {kind, start, size, fraction, from, until}");
                if (f.node() == null || Yaml.isNull(f.node())) {
                    throw error(items.get(i), p, "expected a failure {kind, start, ...}, got nothing");
                }
                FailureRule.Kind kind = choice(require(f, "kind", "one of " + String.join(", ", KINDS.keySet())),
                        f.path("kind"), KINDS);
                require(f, "start", "an address like 0x300000");
                long[] range = range(f, memory, "failure range", false);
                double fraction = fraction(f, "fraction", 1.0);
                long from = durField(f, "from", 0);
                long until = Long.MAX_VALUE;
                if (f.has("until")) {
                    Node un = f.get("until");
                    String text = scalar(un, f.path("until"), "a duration or forever");
                    if (!text.strip().equals("forever")) {
                        until = duration(un, f.path("until"));
                        if (until <= from) {
                            throw error(un, f.path("until"), "expected a time after from ("
                                    + Units.formatDuration(from) + ") or forever, got " + text.strip());
                        }
                    }
                }
                out.add(new FailureRule(kind, range[0] / PAGE, range[1] / PAGE, fraction, from, until));
            }
            return out;
        }

        // ---- guest -----------------------------------------------------------------------------------------------

        private static final Map<String, GuestConfig.ApfMode> APF = ordered(
                "linux", GuestConfig.ApfMode.LINUX, "linux-legacy", GuestConfig.ApfMode.LINUX_LEGACY,
                "never", GuestConfig.ApfMode.NEVER,
                "custom", GuestConfig.ApfMode.CUSTOM);
        private static final Map<String, GuestConfig.PfHandler> PF_HANDLER = ordered(
                "wait", GuestConfig.PfHandler.WAIT, "return", GuestConfig.PfHandler.RETURN_WITHOUT_WAIT);

        /** en_bits default for apf: custom: ENABLED | DELIVERY_AS_INT. */
        static final long CUSTOM_EN_BITS = 0x9;

        private GuestConfig guest(MapView g) {
            GuestConfig d = GuestConfig.defaults();
            GuestConfig.ApfMode apf = choiceField(g, "apf", APF, d.apf());
            long enBits = apf == GuestConfig.ApfMode.CUSTOM ? CUSTOM_EN_BITS : d.enBits();
            if (g.has("en_bits")) {
                // accepted with every mode (ScenarioWriter always writes it); only apf: custom uses it
                enBits = integer(g.get("en_bits"), g.path("en_bits"), 0, 0x3f);
            }
            return new GuestConfig(apf, enBits,
                    intField(g, "apf_vector", 0, 255, d.apfVector()),
                    choiceField(g, "pf_handler", PF_HANDLER, d.pfHandler()),
                    g.has("timeslice") ? duration(g.get("timeslice"), g.path("timeslice"), 1) : d.timesliceNs(),
                    durField(g, "tick", d.tickNs()),
                    durField(g, "pf_handler_cost", d.pfHandlerNs()),
                    durField(g, "irq_handler_cost", d.irqHandlerNs()),
                    durField(g, "timer_handler_cost", d.timerHandlerNs()),
                    durField(g, "context_switch", d.contextSwitchNs()));
        }

        // ---- workload --------------------------------------------------------------------------------------------

        private List<TaskSpec> tasks(MapView w, int vcpus, long memory) {
            List<TaskSpec> out = new ArrayList<>();
            Map<String, String> names = new HashMap<>();
            List<Node> items = list(w.get("tasks"), w.path("tasks"), "tasks");
            for (int i = 0; i < items.size(); i++) {
                String p = w.path("tasks") + "[" + i + "]";
                Node item = items.get(i);
                if (!(item instanceof MappingNode)) {
                    throw error(item, p, "expected a task mapping with type: statistical or type: script, got "
                            + Yaml.describe(item));
                }
                MapView any = map(item, p, Schema.TASK.fields().keySet(), "a task");
                String type = choice(require(any, "type", "statistical or script"), any.path("type"),
                        names(List.of("statistical", "script")));
                Schema.Obj shape = type.equals("script") ? Schema.SCRIPT_TASK : Schema.STATISTICAL_TASK;
                for (String k : any.entries().keySet()) {
                    if (!shape.has(k)) {
                        throw error(any.keyNode(k), any.path(k), "unknown field for a " + type + " task (fields: "
                                + String.join(", ", shape.fields().keySet()) + ")");
                    }
                }
                Node nameNode = require(any, "name", "a string");
                String name = nonEmpty(nameNode, any.path("name"));
                String earlier = names.putIfAbsent(name, p);
                if (earlier != null) {
                    throw error(nameNode, any.path("name"), "task name " + Units.quote(name) + " is already used by "
                            + earlier);
                }
                int cpu = 0;
                if (any.has("cpu")) {
                    Node cn = any.get("cpu");
                    long c = integer(cn, any.path("cpu"), 0, Integer.MAX_VALUE);
                    if (c >= vcpus) {
                        throw error(cn, any.path("cpu"), "expected a vCPU index from 0 to " + (vcpus - 1)
                                + " (vm.vcpus is " + vcpus + "), got " + c);
                    }
                    cpu = (int) c;
                }
                out.add(type.equals("script") ? script(any, name, cpu, memory)
                        : statistical(any, name, cpu, memory));
            }
            return out;
        }

        private TaskSpec statistical(MapView t, String name, int cpu, long memory) {
            int count = intField(t, "count", 1, 65_536, 1);
            LatencyDistribution compute = latency(require(t, "compute", "a LATENCY: the compute burst per operation"),
                    t.path("compute"), null);
            int touches = intField(t, "touches_per_op", 0, 1_000_000, 1);
            long wsStart = 0;
            long wsBytes = 0;
            if (t.has("working_set") || touches > 0) {
                Node wn = t.get("working_set");
                if (wn == null) {
                    throw error(t.node(), t.path("working_set"), "missing required field (a mapping {start, size}; "
                            + "only a task with touches_per_op: 0 may leave it out)");
                }
                MapView ws = section(t, "working_set", Schema.WORKING_SET);
                if (ws.node() == null || Yaml.isNull(ws.node())) {
                    throw error(wn, t.path("working_set"), "expected a mapping {start, size}, got nothing");
                }
                long[] range = touches == 0 && ws.get("size") != null && isZero(ws.get("size"))
                        ? new long[]{ws.has("start") ? address(ws.get("start"), ws.path("start")) : 0, 0}
                        : range(ws, memory, "working set", true);
                wsStart = range[0];
                wsBytes = range[1];
            }
            Pattern pattern = t.has("pattern") ? pattern(t.get("pattern"), t.path("pattern")) : new Pattern.Uniform();
            double write = fraction(t, "write_fraction", 0);
            double kernel = fraction(t, "kernel_fraction", 0);
            double irqOff = fraction(t, "irq_off_fraction", 0);
            long maxOps = t.has("max_ops") ? integer(t.get("max_ops"), t.path("max_ops"), 0, Long.MAX_VALUE) : 0;
            return new TaskSpec.Statistical(name, cpu, count, compute, touches, wsStart, wsBytes, pattern, write,
                    kernel, irqOff, maxOps);
        }

        private boolean isZero(Node n) {
            try {
                return n instanceof ScalarNode s && Units.parseSize(s.getValue()) == 0;
            } catch (IllegalArgumentException e) {
                return false;
            }
        }

        private Pattern pattern(Node n, String path) {
            String expected = "uniform, sequential, {zipfian: THETA} or {hot_cold: {hot_fraction: F, "
                    + "hot_probability: P}}";
            if (n instanceof ScalarNode s && !Yaml.isNull(n)) {
                return switch (s.getValue().strip()) {
                    case "uniform" -> new Pattern.Uniform();
                    case "sequential" -> new Pattern.Sequential();
                    default -> throw error(n, path, "expected " + expected + ", got " + Units.quote(s.getValue()));
                };
            }
            if (!(n instanceof MappingNode m) || m.getValue().size() != 1) {
                throw error(n, path, "expected " + expected + ", got " + Yaml.describe(n)
                        + (n instanceof MappingNode ? " with " + ((MappingNode) n).getValue().size() + " fields" : ""));
            }
            MapView pm = map(n, path, Schema.PATTERN.fields().keySet(), expected);
            if (pm.has("zipfian")) {
                return new Pattern.Zipfian(number(pm.get("zipfian"), pm.path("zipfian"), 0, 100, true,
                        "a Zipf exponent"));
            }
            MapView hc = section(pm, "hot_cold", Schema.HOT_COLD);
            double hf = number(require(hc, "hot_fraction", "the hot share of the working set, 0 to 1"),
                    hc.path("hot_fraction"), 0, 1, true, "a fraction");
            double hp = number(require(hc, "hot_probability", "the share of touches that go to the hot pages"),
                    hc.path("hot_probability"), 0, 1, false, "a fraction");
            return new Pattern.HotCold(hf, hp);
        }

        // ---- scripts ---------------------------------------------------------------------------------------------

        private static final List<String> STEP_WORDS = List.of("cli", "sti", "halt", "init");
        private static final List<String> STEP_KEYS = List.of("touch", "write", "compute", "sleep", "kernel", "wrmsr",
                "rdmsr", "paging", "lapic", "cr3", "l2", "regular_pf", "repeat");

        private TaskSpec script(MapView t, String name, int cpu, long memory) {
            List<Action> steps = new ArrayList<>();
            if (t.has("steps")) {
                steps(t.get("steps"), t.path("steps"), steps, memory);
            }
            return new TaskSpec.Scripted(name, cpu, List.copyOf(steps));
        }

        private String stepHint() {
            return "a step: one of the words " + String.join(", ", STEP_WORDS) + " or a single-field mapping with "
                    + "one of " + String.join(", ", STEP_KEYS);
        }

        private void steps(Node n, String path, List<Action> out, long memory) {
            List<Node> items = list(n, path, "steps");
            for (int i = 0; i < items.size(); i++) {
                step(items.get(i), path + "[" + i + "]", out, memory);
                if (out.size() > MAX_SCRIPT_STEPS) {
                    throw error(items.get(i), path + "[" + i + "]", "the script has more than "
                            + MAX_SCRIPT_STEPS + " steps, the limit");
                }
            }
        }

        private void step(Node s, String p, List<Action> out, long memory) {
            if (s instanceof ScalarNode sc && !Yaml.isNull(s)) {
                out.add(word(s, p, sc.getValue().strip()));
                return;
            }
            if (!(s instanceof MappingNode m)) {
                throw error(s, p, "expected " + stepHint() + ", got " + Yaml.describe(s));
            }
            if (m.getValue().size() != 1) {
                throw error(s, p, "expected " + stepHint() + ", got a mapping with " + m.getValue().size()
                        + " fields (write each step as its own list item)");
            }
            NodeTuple t = m.getValue().getFirst();
            if (!(t.getKeyNode() instanceof ScalarNode kn) || Yaml.isNull(t.getKeyNode())) {
                throw error(t.getKeyNode(), p, "expected " + stepHint() + ", got " + Yaml.describe(t.getKeyNode())
                        + " as a step name");
            }
            String key = kn.getValue().strip();
            Node v = t.getValueNode();
            String vp = p + "." + key;
            switch (key) {
                case "touch" -> {
                    if (v instanceof MappingNode) {
                        MapView tm = map(v, vp, List.of("address", "write"), "a mapping {address, write}");
                        Node an = require(tm, "address", "an address like 0x300000");
                        out.add(new Action.Touch(guestAddress(an, tm.path("address"), memory),
                                boolField(tm, "write", false)));
                    } else {
                        out.add(new Action.Touch(guestAddress(v, vp, memory), false));
                    }
                }
                case "write" -> out.add(new Action.Touch(guestAddress(v, vp, memory), true));
                case "compute" -> out.add(new Action.Compute(duration(v, vp)));
                case "sleep" -> out.add(new Action.Sleep(duration(v, vp)));
                case "kernel" -> out.add(new Action.KernelMode(bool(v, vp)));
                case "paging" -> out.add(new Action.SetPaging(bool(v, vp)));
                case "lapic" -> out.add(new Action.SetLapicEnabled(bool(v, vp)));
                case "rdmsr" -> out.add(new Action.RdMsr(msr(v, vp)));
                case "cr3" -> out.add(new Action.SetCr3(integer(v, vp, 0, Long.MAX_VALUE)));
                case "l2" -> out.add(new Action.SetGuestMode(bool(v, vp)));
                case "regular_pf" -> out.add(new Action.RegularFault(address(v, vp)));
                case "wrmsr" -> {
                    MapView wm = map(v, vp, List.of("msr", "value"), "a mapping {msr, value}");
                    if (wm.node() == null || Yaml.isNull(wm.node())) {
                        throw error(v, vp, "expected a mapping {msr, value}, got nothing");
                    }
                    int msr = msr(require(wm, "msr", "an MSR number or name like MSR_KVM_ASYNC_PF_EN"),
                            wm.path("msr"));
                    long value = integer(require(wm, "value", "an integer"), wm.path("value"), Long.MIN_VALUE,
                            Long.MAX_VALUE);
                    out.add(new Action.WrMsr(msr, value));
                }
                case "repeat" -> {
                    MapView rm = map(v, vp, List.of("times", "steps"), "a mapping {times, steps}");
                    if (rm.node() == null || Yaml.isNull(rm.node())) {
                        throw error(v, vp, "expected a mapping {times, steps}, got nothing");
                    }
                    long times = integer(require(rm, "times", "an integer of at least 1"), rm.path("times"), 1,
                            Integer.MAX_VALUE);
                    Node body = require(rm, "steps", "a list of steps");
                    List<Action> inner = new ArrayList<>();
                    steps(body, rm.path("steps"), inner, memory);
                    long total = out.size() + times * inner.size();
                    if (total > MAX_SCRIPT_STEPS) {
                        throw error(s, p, "repeat expands the script to " + total + " steps, more than the limit of "
                                + MAX_SCRIPT_STEPS);
                    }
                    for (long k = 0; k < times; k++) {
                        out.addAll(inner);
                    }
                }
                default -> {
                    if (STEP_WORDS.contains(key) || key.equals("hlt")) {
                        if (!Yaml.isNull(v)) {
                            throw error(v, vp, key + " takes no value (write it as a bare word: - " + key + ")");
                        }
                        out.add(word(kn, p, key));
                    } else {
                        List<String> all = new ArrayList<>(STEP_KEYS);
                        all.addAll(STEP_WORDS);
                        String sug = Yaml.suggest(key, all);
                        throw error(kn, vp, "unknown step (" + sug + "steps: " + String.join(", ", all) + ")");
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
                default -> {
                    List<String> all = new ArrayList<>(STEP_WORDS);
                    all.addAll(STEP_KEYS);
                    String sug = Yaml.suggest(word, all);
                    throw error(n, p, "expected " + stepHint() + ", got " + Units.quote(word)
                            + (sug.isEmpty() ? "" : " (" + sug.strip() + ")"));
                }
            };
        }

        private long guestAddress(Node n, String path, long memory) {
            long a = address(n, path);
            if (a >= memory) {
                throw error(n, path, "expected an address inside guest memory (below vm.memory = "
                        + Units.formatSize(memory) + " = " + Units.formatHex(memory) + "), got "
                        + scalar(n, path, "").strip());
            }
            return a;
        }

        private static final Map<String, Integer> MSR_NAMES = ordered(
                "msr_kvm_async_pf_en", MSR_KVM_ASYNC_PF_EN, "msr_kvm_async_pf_int", MSR_KVM_ASYNC_PF_INT,
                "msr_kvm_async_pf_ack", MSR_KVM_ASYNC_PF_ACK,
                "en", MSR_KVM_ASYNC_PF_EN, "int", MSR_KVM_ASYNC_PF_INT, "ack", MSR_KVM_ASYNC_PF_ACK);

        private int msr(Node n, String path) {
            String text = scalar(n, path, "an MSR number or a name (MSR_KVM_ASYNC_PF_EN, _INT, _ACK)");
            String t = text.strip();
            if (!t.isEmpty() && (Character.isDigit(t.charAt(0)) || t.charAt(0) == '-')) {
                return (int) integer(n, path, Integer.MIN_VALUE, 0xffff_ffffL);
            }
            Integer v = MSR_NAMES.get(t.toLowerCase(Locale.ROOT));
            if (v == null) {
                throw error(n, path, "expected an MSR number like 0x4b564d02 or a name (MSR_KVM_ASYNC_PF_EN, "
                        + "MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_ACK, or en, int, ack), got " + Units.quote(text));
            }
            return v;
        }
    }

    @SuppressWarnings("unchecked")
    private static <E> Map<String, E> ordered(Object... keyAndValue) {
        Map<String, E> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyAndValue.length; i += 2) {
            m.put((String) keyAndValue[i], (E) keyAndValue[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Map of names to themselves, for string choices. */
    private static Map<String, String> names(Collection<String> names) {
        Map<String, String> m = new LinkedHashMap<>();
        names.forEach(n -> m.put(n, n));
        return m;
    }
}
