package dev.apfsim.realkvm.events;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ftrace lines to the APF event sequence. Only the events the two sides share are kept: the async PF
 * tracepoints, #PF injections, APIC accepts of the page-ready vector, writes of the APF MSRs and KVM_RUN
 * errors; everything else (EOIs, I/O exits, re-injections of an interrupted #PF delivery, the model's own
 * apfsim_* and guest_* events) is dropped.
 *
 * <p>Which vCPU an event belongs to: from the pid map when given, else from a comm of the form
 * {@code CPU n/KVM} (QEMU's and our VMM's vCPU thread name, also what the model prints). A
 * {@code kvm_async_pf_completed} runs in a kworker; it is given the vCPU of the not-present event with the
 * same gva (the nearest earlier unmatched one, else the next).
 */
public final class Normaliser {
    private Normaliser() {
    }

    /**
     * @param pageReadyVector the APIC vector of page-ready (-1: keep every accepted vector)
     * @param pids keep vCPU-thread events of these pids only (null: of any)
     * @param pidToVcpu the vCPU of each pid (may be empty)
     * @param hvaRanges keep completions whose host address lies in one of these [start, end) (null: all)
     */
    public record Options(int pageReadyVector, Set<Integer> pids, Map<Integer, Integer> pidToVcpu,
                          Collection<long[]> hvaRanges) {
        public static Options model(int pageReadyVector) {
            return new Options(pageReadyVector, null, Map.of(), null);
        }
    }

    private static final Pattern GVA_GFN = Pattern.compile("gva = (0x[0-9a-f]+), gfn = (0x[0-9a-f]+)");
    private static final Pattern TOKEN_GVA = Pattern.compile("token (0x[0-9a-f]+) gva (0x[0-9a-f]+)");
    private static final Pattern GVA_ADDRESS = Pattern.compile("gva (0x[0-9a-f]+) address (0x[0-9a-f]+)");
    private static final Pattern EXCEPTION = Pattern.compile("(#[A-Z]{2}|0x[0-9a-f]+)(?: \\((0x[0-9a-f]+)\\))?.*");
    private static final Pattern ACCEPT = Pattern.compile("apicid ([0-9a-f]+) vec (\\d+).*");
    private static final Pattern MSR = Pattern.compile("msr_(read|write) ([0-9a-f]+) = (0x[0-9a-f]+)( \\(#GP\\))?");
    private static final Pattern EXIT = Pattern.compile("reason (\\S+) \\((-?\\d+)\\).*");
    private static final Pattern VCPU_COMM = Pattern.compile("CPU (\\d+)/KVM");

    static final int MSR_EN = 0x4b564d02, MSR_INT = 0x4b564d06, MSR_ACK = 0x4b564d07;

    public static List<ApfEvent> fromText(List<String> lines, Options o) {
        List<FtraceLine> parsed = new ArrayList<>();
        for (String l : lines) {
            FtraceLine f = FtraceLine.parse(l);
            if (f != null) {
                parsed.add(f);
            }
        }
        return normalise(parsed, o);
    }

    public static List<ApfEvent> normalise(List<FtraceLine> lines, Options o) {
        List<ApfEvent> out = new ArrayList<>();
        for (FtraceLine l : lines) {
            ApfEvent e = event(l, o);
            if (e != null) {
                out.add(e);
            }
        }
        out.sort((a, b) -> Long.compare(a.timeNs(), b.timeNs())); // stable: equal stamps keep their print order
        attributeCompletions(out);
        return out;
    }

    /** True when the line comes from one of our threads (or when no pid filter is set). */
    private static boolean ours(FtraceLine l, Options o) {
        return o.pids() == null || o.pids().contains(l.pid());
    }

    private static int vcpuOf(FtraceLine l, Options o) {
        Integer v = o.pidToVcpu().get(l.pid());
        if (v != null) {
            return v;
        }
        Matcher m = VCPU_COMM.matcher(l.comm());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static ApfEvent event(FtraceLine l, Options o) {
        String f = l.fields();
        long t = l.timeNs();
        Matcher m;
        switch (l.name()) {
            case "kvm_try_async_get_page", "kvm_async_pf_repeated_fault" -> {
                if (!ours(l, o) || !(m = GVA_GFN.matcher(f)).find()) {
                    return null;
                }
                long gva = Hex.parse(m.group(1)), gfn = Hex.parse(m.group(2));
                return l.name().equals("kvm_try_async_get_page") ? new ApfEvent.TryAsync(t, vcpuOf(l, o), gva, gfn)
                        : new ApfEvent.RepeatedFault(t, vcpuOf(l, o), gva, gfn);
            }
            case "kvm_async_pf_not_present", "kvm_async_pf_ready" -> {
                if (!ours(l, o) || !(m = TOKEN_GVA.matcher(f)).find()) {
                    return null;
                }
                long token = Hex.parse(m.group(1)), gva = Hex.parse(m.group(2));
                return l.name().equals("kvm_async_pf_ready") ? new ApfEvent.Ready(t, vcpuOf(l, o), token, gva)
                        : new ApfEvent.NotPresent(t, vcpuOf(l, o), token, gva);
            }
            case "kvm_async_pf_completed" -> {
                if (!(m = GVA_ADDRESS.matcher(f)).find()) {
                    return null;
                }
                long gva = Hex.parse(m.group(1)), hva = Hex.parse(m.group(2));
                if (o.hvaRanges() != null && o.hvaRanges().stream().noneMatch(r -> hva >= r[0] && hva < r[1])) {
                    return null;
                }
                return new ApfEvent.Completed(t, vcpuOf(l, o), gva);
            }
            case "kvm_inj_exception" -> {
                if (!ours(l, o) || !(m = EXCEPTION.matcher(f)).matches() || !m.group(1).equals("#PF")) {
                    return null;
                }
                if (f.endsWith("[reinjected]")) {
                    return null; // the same #PF again after its delivery was interrupted: not a new event
                }
                return new ApfEvent.PfInjected(t, vcpuOf(l, o), m.group(2) == null ? -1 : Hex.parse(m.group(2)));
            }
            case "kvm_apic_accept_irq" -> {
                if (!ours(l, o) || !(m = ACCEPT.matcher(f)).matches()) {
                    return null;
                }
                int vec = Integer.parseInt(m.group(2));
                if (o.pageReadyVector() >= 0 && vec != o.pageReadyVector()) {
                    return null;
                }
                return new ApfEvent.PageReadyIrq(t, vcpuOf(l, o), vec);
            }
            case "kvm_msr" -> {
                if (!ours(l, o) || !(m = MSR.matcher(f)).matches() || !m.group(1).equals("write")) {
                    return null;
                }
                int msr = (int) Long.parseLong(m.group(2), 16);
                if (msr != MSR_EN && msr != MSR_INT && msr != MSR_ACK) {
                    return null;
                }
                return new ApfEvent.ApfMsrWrite(t, vcpuOf(l, o), msr, Hex.parse(m.group(3)), m.group(4) != null);
            }
            case "kvm_userspace_exit" -> {
                if (!ours(l, o) || !(m = EXIT.matcher(f)).matches() || !m.group(1).equals("error")) {
                    return null; // "restart" is the watchdog's EINTR; KVM_EXIT_* are ordinary exits
                }
                return new ApfEvent.RunError(t, vcpuOf(l, o), Math.abs(Integer.parseInt(m.group(2))));
            }
            default -> {
                return null;
            }
        }
    }

    private static void attributeCompletions(List<ApfEvent> ev) {
        boolean[] matched = new boolean[ev.size()];
        for (int i = 0; i < ev.size(); i++) {
            if (!(ev.get(i) instanceof ApfEvent.Completed c) || c.vcpu() >= 0) {
                continue;
            }
            int found = -1;
            for (int j = i - 1; j >= 0 && found < 0; j--) {
                if (!matched[j] && ev.get(j) instanceof ApfEvent.NotPresent n && n.gva() == c.gva()) {
                    found = j;
                }
            }
            for (int j = i + 1; j < ev.size() && found < 0; j++) {
                if (!matched[j] && ev.get(j) instanceof ApfEvent.NotPresent n && n.gva() == c.gva()) {
                    found = j;
                }
            }
            if (found >= 0) {
                matched[found] = true;
                ev.set(i, c.withVcpu(ev.get(found).vcpu()));
            }
        }
    }
}
