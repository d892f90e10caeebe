package dev.apfsim.cli.conform;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apfsim.kvm.HostCosts;
import dev.apfsim.realkvm.Experiments;
import dev.apfsim.realkvm.RealKvm;
import dev.apfsim.realkvm.events.ApfEvent;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.KvmAbi;
import dev.apfsim.realkvm.uffd.FaultRecord;
import dev.apfsim.realkvm.vmm.Recording;
import dev.apfsim.scenario.Units;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code apfsim conform --calibrate}: the host costs of the model fitted to this host. One real run of twelve
 * CPL3 faults (each served after 1 ms) gives, per fault, the tracepoint gaps that stand for one model cost each:
 *
 * <ul>
 *   <li>{@code async_setup}: {@code kvm_try_async_get_page} to {@code kvm_async_pf_not_present}
 *       ({@code kvm_arch_setup_async_pf} → {@code kvm_setup_async_pf});</li>
 *   <li>{@code vm_entry}: {@code kvm_async_pf_not_present} to {@code kvm_inj_exception}, the injection of the
 *       #PF on the way back into the guest ({@code kvm_inject_page_fault}, {@code kvm_check_and_inject_events});</li>
 *   <li>{@code worker_dispatch}: {@code kvm_async_pf_not_present} to the kworker's userfaultfd fault, how long
 *       {@code schedule_work} takes until {@code async_pf_execute} runs;</li>
 *   <li>{@code halt_wakeup}: {@code kvm_async_pf_completed} to {@code kvm_async_pf_ready}, the kick of the waiting
 *       vCPU ({@code kvm_arch_async_page_present_queued} → {@code kvm_vcpu_kick});</li>
 *   <li>{@code vm_exit}: the gap between the guest's two consecutive WRMSRs (INT, then EN) is one exit, the MSR's
 *       emulation and one entry; the exit is what is left after the fitted entry and the model's {@code msr}.</li>
 * </ul>
 * A cost is what the work takes when nobody else wants the CPU; on a shared host most gaps also hold the time
 * the vCPU thread or the kworker waited for a CPU. So each cost is the 10th percentile of the gaps pooled over
 * {@link #RUNS} runs (the minimum where there are fewer than ten), and the median is printed beside it.
 */
public final class Calibration {
    private Calibration() {
    }

    static final int RUNS = 3;

    /** One fitted cost: the value pasted, the median seen and the number of gaps. */
    public record Cost(long ns, long medianNs, int samples) {
    }

    public record Fit(Map<String, Cost> costs, String backend) {
        /** The block to paste into a scenario (merged with its other {@code host} fields). */
        public String yaml() {
            StringBuilder sb = new StringBuilder("host:\n  costs:\n");
            costs.forEach((k, c) -> sb.append(String.format("    %-16s %-8s # median %s, %d gaps%n", k + ":",
                    duration(c.ns()), duration(c.medianNs()), c.samples())));
            return sb.toString();
        }

        public List<String> explanation() {
            List<String> l = new ArrayList<>();
            l.add("fitted from " + RUNS + " runs of twelve CPL3 async faults: each cost is the 10th percentile of its gaps");
            l.add("(the gaps above it are time spent waiting for a CPU on a shared host, not the cost itself)");
            l.add("vm_entry = not_present -> #PF injection (the model's 'event injection and VM entry');");
            l.add("vm_exit = INT->EN WRMSR gap - msr - vm_entry (or 7/12 of gap - msr when the injection is longer);");
            l.add("async_setup = try_async_get_page -> not_present; worker_dispatch = not_present -> the kworker's");
            l.add("userfaultfd fault; halt_wakeup = completed -> ready. Other costs keep their defaults.");
            if (backend.contains("software")) {
                l.add("software backend: guest kernel code is emulated here, so exit and entry are far above VMX/SVM's");
            }
            return l;
        }

        public String toJson() {
            ObjectMapper m = new ObjectMapper();
            ObjectNode n = m.createObjectNode();
            n.put("backend", backend);
            ObjectNode c = n.putObject("costs");
            costs.forEach((k, v) -> c.putObject(k).put("ns", v.ns()).put("median_ns", v.medianNs())
                    .put("samples", v.samples()));
            n.put("yaml", yaml());
            return n.toPrettyString();
        }
    }

    /** Rounded to what a person would write: whole µs above 10 µs, else ns. */
    static String duration(long ns) {
        return Units.formatDuration(ns >= 10_000 ? Math.round(ns / 1000.0) * 1000 : ns);
    }

    public static Fit measure(Backend backend) throws IOException {
        Experiments.Experiment e = Experiments.all().get("timing-user-faults");
        Gaps g = new Gaps();
        for (int i = 0; i < RUNS; i++) {
            Recording rec = RealKvm.record(e.guest(), backend, e.timeLimitMs());
            g.add(RealKvm.events(rec), rec.faults());
        }
        return g.fit(backend.toString());
    }

    /** The gaps of one or more recordings, each cost's list. */
    static final class Gaps {
        final List<Long> setup = new ArrayList<>(), entry = new ArrayList<>(), dispatch = new ArrayList<>(),
                wake = new ArrayList<>(), msrGap = new ArrayList<>();

        /** Adds one recording: its normalised events (vCPU 0) and its userfaultfd log. */
        void add(List<ApfEvent> ev, List<FaultRecord> faults) {
            for (int i = 0; i < ev.size(); i++) {
                ApfEvent x = ev.get(i);
                if (x instanceof ApfEvent.NotPresent np) {
                    if (i > 0 && ev.get(i - 1) instanceof ApfEvent.TryAsync t && t.gva() == np.gva()) {
                        setup.add(np.timeNs() - t.timeNs());
                    }
                    for (int j = i + 1; j < ev.size(); j++) {
                        if (ev.get(j) instanceof ApfEvent.PfInjected p) {
                            entry.add(p.timeNs() - np.timeNs());
                            break;
                        }
                    }
                    faults.stream().filter(f -> !f.synchronous() && f.gpa() == np.gva() && f.timeNs() >= np.timeNs())
                            .findFirst().ifPresent(f -> dispatch.add(f.timeNs() - np.timeNs()));
                } else if (x instanceof ApfEvent.Ready r && r.token() != 0xffffffffL) {
                    for (int j = i - 1; j >= 0; j--) {
                        if (ev.get(j) instanceof ApfEvent.Completed c && c.gva() == r.gva()) {
                            wake.add(r.timeNs() - c.timeNs());
                            break;
                        }
                    }
                } else if (x instanceof ApfEvent.ApfMsrWrite w && w.msr() == KvmAbi.MSR_KVM_ASYNC_PF_EN && i > 0
                        && ev.get(i - 1) instanceof ApfEvent.ApfMsrWrite prev && prev.msr() == KvmAbi.MSR_KVM_ASYNC_PF_INT) {
                    msrGap.add(w.timeNs() - prev.timeNs());
                }
            }
        }

        Fit fit(String backend) {
            HostCosts d = HostCosts.defaults();
            Cost vmEntry = cost(entry, d.vmEntryNs());
            Cost round = cost(msrGap, d.vmExitNs() + d.vmEntryNs() + d.msrNs());
            Cost vmExit = new Cost(exit(round.ns(), vmEntry.ns(), d), exit(round.medianNs(), vmEntry.medianNs(), d),
                    round.samples());
            Map<String, Cost> c = new LinkedHashMap<>();
            c.put("vm_exit", vmExit);
            c.put("vm_entry", vmEntry);
            c.put("async_setup", cost(setup, d.asyncSetupNs()));
            c.put("worker_dispatch", cost(dispatch, d.workerDispatchNs()));
            c.put("halt_wakeup", cost(wake, d.haltWakeupNs()));
            return new Fit(c, backend);
        }
    }

    /**
     * The exit of a WRMSR round trip {@code round} = exit + msr + entry. Where the injection gap is longer than
     * that leaves room for (a software backend emulates guest kernel code, so its WRMSR "exits" are cheaper than an
     * injection), the round trip less the MSR is split between exit and entry as the defaults are (7:5).
     */
    static long exit(long round, long entry, HostCosts d) {
        long rest = round - d.msrNs();
        long exit = rest - entry;
        return exit >= rest / 4 ? exit : Math.max(1, rest * d.vmExitNs() / (d.vmExitNs() + d.vmEntryNs()));
    }

    /** The 10th percentile (the minimum below ten gaps) and the median; the default when there is no gap. */
    static Cost cost(List<Long> gaps, long otherwise) {
        if (gaps.isEmpty()) {
            return new Cost(otherwise, otherwise, 0);
        }
        List<Long> s = gaps.stream().sorted().toList();
        return new Cost(s.get(s.size() / 10), s.get(s.size() / 2), s.size());
    }
}
