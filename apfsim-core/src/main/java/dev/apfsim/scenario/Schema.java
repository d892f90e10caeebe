package dev.apfsim.scenario;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shape of a scenario file: which keys exist where. The loader's section readers use it for unknown-key checks of
 * the fixed sections ({@link NodeReader#section}) and {@link Overrides} to check {@code --set} paths before the value
 * is converted. Polymorphic maps (LATENCY, a task, a pattern) list the union of the keys of their variants here; the
 * loader checks each variant precisely.
 */
final class Schema {

    sealed interface S permits Leaf, Obj, Seq, Any {
    }

    /** A single value. */
    record Leaf() implements S {
    }

    /** A mapping with fixed keys (in documentation order). */
    record Obj(Map<String, S> fields) implements S {
        boolean has(String key) {
            return fields.containsKey(key);
        }
    }

    /** A list of elements of one shape. */
    record Seq(S element) implements S {
    }

    /** Shape checked only by the loader (script steps, empirical points). */
    record Any() implements S {
    }

    static final Leaf LEAF = new Leaf();
    static final Any ANY = new Any();

    static final Obj LATENCY = obj("type", LEAF, "value", LEAF, "mean", LEAF, "median", LEAF, "p99", LEAF,
            "points", new Seq(ANY));

    static final Obj DEVICE = obj("latency", LATENCY, "queue_depth", LEAF);

    static final Obj VM = obj("vcpus", LEAF, "memory", LEAF);

    static final Obj CPUID = obj("async_pf", LEAF, "async_pf_vmexit", LEAF, "async_pf_int", LEAF);

    static final Obj COSTS = obj("vm_exit", LEAF, "vm_entry", LEAF, "ept_violation", LEAF, "minor_fault", LEAF,
            "async_setup", LEAF, "msr", LEAF, "halt_wakeup", LEAF, "worker_dispatch", LEAF, "sigbus", LEAF,
            "pio_exit", LEAF);

    static final Obj POLICY = obj("page_ready_delivery", LEAF, "cr0_pg_toggle", LEAF, "deliver_when_paging_off", LEAF,
            "prefault", LEAF, "lapic_disabled_fix", LEAF, "token_wrap_fix", LEAF, "error_policy", LEAF,
            "nested_async_pf", LEAF, "nested_pending_save", LEAF, "arm64_injection", LEAF,
            "page_ready_waits_for_ack", LEAF);

    static final Obj HOST = obj("arch", LEAF, "cpus", LEAF, "pin", new Seq(LEAF), "pinning", LEAF, "sched_slice", LEAF, "memory_limit", LEAF, "async_pf", LEAF, "lapic_in_kernel", LEAF,
            "enforce_pv_cpuid", LEAF, "cpuid", CPUID, "hlt_in_guest", LEAF, "tdp", LEAF, "apf_id_start", LEAF,
            "costs", COSTS, "policy", POLICY, "swap", DEVICE, "remote", DEVICE);

    static final Obj REGION = obj("start", LEAF, "size", LEAF, "state", LEAF);

    static final Obj FAILURE = obj("kind", LEAF, "start", LEAF, "size", LEAF, "fraction", LEAF, "from", LEAF,
            "until", LEAF);

    static final Obj MEMORY = obj("regions", new Seq(REGION), "failures", new Seq(FAILURE));

    static final Obj TEST_GUEST = obj("apf_area", LEAF, "vector", LEAF, "on_not_present", LEAF,
            "page_ready", new Seq(LEAF), "apic", LEAF);

    static final Obj TASK_START = obj("cpl", LEAF, "if", LEAF);

    static final Obj GUEST = obj("apf", LEAF, "en_bits", LEAF, "apf_vector", LEAF, "pf_handler", LEAF,
            "timeslice", LEAF, "tick", LEAF, "pf_handler_cost", LEAF, "irq_handler_cost", LEAF,
            "timer_handler_cost", LEAF, "context_switch", LEAF, "scheduler", LEAF, "kind", LEAF, "test", TEST_GUEST,
            "version", LEAF, "page_ready_while_disabled", LEAF, "timer_vector", LEAF);

    static final Obj WORKING_SET = obj("start", LEAF, "size", LEAF);

    static final Obj HOT_COLD = obj("hot_fraction", LEAF, "hot_probability", LEAF);

    static final Obj PATTERN = obj("zipfian", LEAF, "hot_cold", HOT_COLD);

    static final Obj STATISTICAL_TASK = obj("type", LEAF, "name", LEAF, "cpu", LEAF, "count", LEAF,
            "compute", LATENCY, "touches_per_op", LEAF, "working_set", WORKING_SET, "pattern", PATTERN,
            "write_fraction", LEAF, "kernel_fraction", LEAF, "irq_off_fraction", LEAF, "max_ops", LEAF);

    static final Obj SCRIPT_TASK = obj("type", LEAF, "name", LEAF, "cpu", LEAF, "start", TASK_START,
            "steps", new Seq(ANY));

    /** Union of both task kinds, for {@code --set} paths. */
    static final Obj TASK;

    static {
        Map<String, S> m = new LinkedHashMap<>(STATISTICAL_TASK.fields());
        SCRIPT_TASK.fields().forEach(m::putIfAbsent);
        TASK = new Obj(Collections.unmodifiableMap(m));
    }

    static final Obj WORKLOAD = obj("tasks", new Seq(TASK));

    static final Obj PERTURBATION = obj("at", LEAF, "cpu", LEAF, "kind", LEAF, "duration", LEAF);

    static final Obj CHECK = obj("schedule_seed", LEAF, "perturbations", new Seq(PERTURBATION), "perturb",
            new Seq(LEAF), "max_perturbations", LEAF, "jitter", LEAF, "choices", LEAF,
            "cost_levels", ANY, "fairness", LEAF,
            "max_events", LEAF);

    static final Obj ROOT = obj("name", LEAF, "description", LEAF, "seed", LEAF, "duration", LEAF,
            "livelock_retries", LEAF, "liveness_bound", LEAF, "vm", VM, "host", HOST, "memory", MEMORY,
            "guest", GUEST, "workload", WORKLOAD, "check", CHECK, "variants", ANY);

    private Schema() {
    }

    private static Obj obj(Object... keyAndShape) {
        Map<String, S> m = new LinkedHashMap<>();
        for (int i = 0; i < keyAndShape.length; i += 2) {
            m.put((String) keyAndShape[i], (S) keyAndShape[i + 1]);
        }
        return new Obj(Collections.unmodifiableMap(m));
    }
}
