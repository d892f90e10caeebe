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
 * Medians, so a shared host's stragglers do not move them much.
 */
public final class Calibration {
    private Calibration() {
    }

    public record Fit(Map<String, Long> costsNs, Map<String, Integer> samples, String backend) {
        /** The block to paste into a scenario (merged with its other {@code host} fields). */
        public String yaml() {
            StringBuilder sb = new StringBuilder("host:\n  costs:\n");
            costsNs.forEach((k, v) -> sb.append("    ").append(k).append(": ").append(duration(v)).append('\n'));
            return sb.toString();
        }

        public List<String> explanation() {
            List<String> l = new ArrayList<>();
            l.add("fitted from one run of twelve CPL3 async faults (medians; samples: " + samples + ")");
            l.add("vm_exit = INT->EN WRMSR gap - vm_entry - msr; vm_entry = not_present -> #PF injection;");
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
            ObjectNode c = n.putObject("costs_ns");
            costsNs.forEach(c::put);
            ObjectNode s = n.putObject("samples");
            samples.forEach(s::put);
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
        Recording rec = RealKvm.record(e.guest(), backend, e.timeLimitMs());
        return fit(RealKvm.events(rec), rec.faults(), backend.toString());
    }

    /** The fit of one recording: its normalised events (vCPU 0) and its userfaultfd log. */
    static Fit fit(List<ApfEvent> ev, List<FaultRecord> faults, String backend) {
        List<Long> setup = new ArrayList<>(), entry = new ArrayList<>(), dispatch = new ArrayList<>(),
                wake = new ArrayList<>(), msrGap = new ArrayList<>();
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
        HostCosts d = HostCosts.defaults();
        long vmEntry = median(entry, d.vmEntryNs());
        long vmExit = Math.max(d.vmExitNs(), median(msrGap, d.vmExitNs() + d.vmEntryNs() + d.msrNs()) - vmEntry
                - d.msrNs());
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("vm_exit", vmExit);
        c.put("vm_entry", vmEntry);
        c.put("async_setup", median(setup, d.asyncSetupNs()));
        c.put("worker_dispatch", median(dispatch, d.workerDispatchNs()));
        c.put("halt_wakeup", median(wake, d.haltWakeupNs()));
        Map<String, Integer> n = new LinkedHashMap<>();
        n.put("vm_exit", msrGap.size());
        n.put("vm_entry", entry.size());
        n.put("async_setup", setup.size());
        n.put("worker_dispatch", dispatch.size());
        n.put("halt_wakeup", wake.size());
        return new Fit(c, n, backend);
    }

    static long median(List<Long> l, long otherwise) {
        if (l.isEmpty()) {
            return otherwise;
        }
        List<Long> s = l.stream().sorted().toList();
        return s.get(s.size() / 2);
    }
}
