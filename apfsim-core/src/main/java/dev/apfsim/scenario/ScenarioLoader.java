package dev.apfsim.scenario;

import dev.apfsim.check.CheckSpec;
import dev.apfsim.guest.GuestConfig;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.memory.FailureRule;
import dev.apfsim.workload.TaskSpec;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a scenario from YAML (schema in docs/scenarios.md) into a {@link Scenario}.
 *
 * <p>The text is composed into a snakeyaml-engine node tree (every value keeps its line and column), the
 * {@code --set} overrides are applied to that tree, and the tree is converted with strict checks: unknown keys, wrong
 * types, values out of range, bad units and inconsistent fields are all {@link ScenarioException}s whose one-line
 * message names the file position and the field path.
 *
 * <p>This class holds the entry points and the order of conversion; each section has its reader ({@link HostReader},
 * {@link LatencyReader}, {@link MemoryReader}, {@link GuestReader}, {@link WorkloadReader}, {@link ScriptReader},
 * {@link CheckReader}, {@link Variants}), all built on the checked field access of {@link NodeReader}.
 */
public final class ScenarioLoader {

    /** Most steps a script may have after {@code repeat} expansion. */
    public static final int MAX_SCRIPT_STEPS = 1_000_000;

    public static final int MSR_KVM_ASYNC_PF_EN = 0x4b564d02;
    public static final int MSR_KVM_ASYNC_PF_INT = 0x4b564d06;
    public static final int MSR_KVM_ASYNC_PF_ACK = 0x4b564d07;

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
            long bytes = java.nio.file.Files.size(file);
            if (bytes > 4L * Yaml.MAX_CODE_POINTS) { // refused before reading it into memory
                throw new ScenarioException(file.toString(), "the file has " + String.format("%,d", bytes)
                        + " bytes, more than a scenario may have (" + String.format("%,d", Yaml.MAX_CODE_POINTS)
                        + " characters)");
            }
            text = java.nio.file.Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ScenarioException(file.toString(), "no such file");
        } catch (CharacterCodingException e) {
            throw new ScenarioException(file.toString(), "cannot read file: it is not valid UTF-8 text");
        } catch (IOException e) {
            throw new ScenarioException(file.toString(), "cannot read file: " + e);
        }
        return load(file.toString(), defaultName(file.toString()), text, overrides, true);
    }

    /** Loads with an explicit default name (built-in scenarios use a source label that is not a file name). */
    static Scenario load(String source, String defaultName, String yamlText, List<String> overrides) {
        return load(source, defaultName, yamlText, overrides, false);
    }

    /** @param refuseEmpty a file with no fields at all is an error (a user's file; tests build on the defaults) */
    private static Scenario load(String source, String defaultName, String yamlText, List<String> overrides,
                                 boolean refuseEmpty) {
        List<String> sets = overrides == null ? List.of() : overrides;
        MappingNode root = rootMapping(source, yamlText);
        if (refuseEmpty && root.getValue().isEmpty()) {
            throw new ScenarioException(source, "the file is empty (no fields, only blank lines or comments): "
                    + "nothing to run; start from a built-in: apfsim scenarios --show example-minimal > my.yaml");
        }
        for (String o : sets) {
            Overrides.apply(root, o);
        }
        Scenario s = convert(source, root, defaultName);
        // every variant must give a valid scenario too; a bad one is reported at its entry in the file
        for (Map.Entry<String, List<Variants.Entry>> v : Variants.read(source, root).entrySet()) {
            MappingNode copy = rootMapping(source, yamlText);
            for (String o : sets) {
                Overrides.apply(copy, o);
            }
            Variants.Entry current = null;
            try {
                for (Variants.Entry x : v.getValue()) {
                    current = x;
                    Overrides.apply(copy, x.override());
                }
                current = null;
                convert(source, copy, defaultName);
            } catch (ScenarioException e) {
                throw Variants.blame(source, v.getKey(), v.getValue(), current, e);
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
        Variants.read(fileName, rootMapping(fileName, yamlText)).forEach((name, vs) ->
                out.put(name, vs.stream().map(Variants.Entry::override).toList()));
        return java.util.Collections.unmodifiableMap(out);
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

    /**
     * One conversion of a (possibly overridden) tree. Sections are read in file-schema order, vm first because the
     * others are checked against it; the order decides which error is reported when there are several.
     */
    private static Scenario convert(String source, MappingNode rootNode, String defaultName) {
        NodeReader r = new NodeReader(source);
        MapView root = r.map(rootNode, "", Schema.ROOT.fields().keySet(), "a mapping");

        String name = root.has("name") ? r.nonEmpty(root.get("name"), "name") : defaultName;
        String description = root.has("description") ? r.string(root.get("description"), "description").strip()
                : "";
        long seed = root.has("seed") ? r.integer(root.get("seed"), "seed", Long.MIN_VALUE, Long.MAX_VALUE) : 1;
        long durationNs = root.has("duration") ? r.duration(root.get("duration"), "duration", 1) : Units.S;
        int livelock = r.intField(root, "livelock_retries", 1, Integer.MAX_VALUE, 1000);
        long liveness = root.has("liveness_bound") ? r.duration(root.get("liveness_bound"), "liveness_bound", 1)
                : Scenario.DEFAULT_LIVENESS_BOUND_NS;

        MapView vm = r.section(root, "vm", Schema.VM);
        int vcpus = r.intField(vm, "vcpus", 1, 256, 1);
        long memory = Units.GIB;
        if (vm.has("memory")) {
            Node n = vm.get("memory");
            memory = r.size(n, vm.path("memory"));
            if (memory < Units.MIB || memory > Units.TIB) {
                throw r.error(n, vm.path("memory"), "expected a size from 1MiB to 1TiB, got "
                        + r.scalar(n, "", "").strip());
            }
            r.pageMultiple(n, vm.path("memory"), memory);
        }

        LatencyReader latencies = new LatencyReader(r);
        GuestRanges ranges = new GuestRanges(r, memory);

        HostReader hosts = new HostReader(r, latencies);
        MapView host = r.section(root, "host", Schema.HOST);
        long limit = hosts.memoryLimit(host, memory);
        KvmConfig kvm = hosts.kvm(host);
        DeviceSpec swap = hosts.swap(host);
        DeviceSpec remote = hosts.remote(host);

        MemoryReader memories = new MemoryReader(r, ranges);
        MapView mem = r.section(root, "memory", Schema.MEMORY);
        List<MemoryRegion> regions = memories.regions(mem);
        List<FailureRule> failures = memories.failures(mem);

        GuestConfig guest = new GuestReader(r, kvm.arch(), memory, vcpus).guest(r.section(root, "guest", Schema.GUEST));

        MapView workload = r.section(root, "workload", Schema.WORKLOAD);
        List<TaskSpec> tasks = new WorkloadReader(r, latencies, ranges, new ScriptReader(r, ranges, guest))
                .tasks(workload, vcpus);

        CheckSpec check = new CheckReader(r).check(r.section(root, "check", Schema.CHECK));

        return new Scenario(name, description, seed, durationNs, vcpus, memory, limit, kvm, swap, remote,
                List.copyOf(regions), List.copyOf(failures), guest, List.copyOf(tasks), livelock, liveness, check);
    }
}
