package dev.apfsim.realkvm;

import dev.apfsim.realkvm.events.ApfEvent;
import dev.apfsim.realkvm.guest.GuestEvent;
import dev.apfsim.realkvm.kvm.Probe;
import dev.apfsim.realkvm.uffd.Backing;
import dev.apfsim.realkvm.uffd.FaultRecord;
import dev.apfsim.realkvm.uffd.ServiceRecord;
import dev.apfsim.realkvm.vmm.Recording;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs one built-in experiment on this host's KVM and prints what happened: the APF event sequence, the
 * guest's reports and the userfaultfd log on one time axis (µs from the start), then how the run ended.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp apfsim-realkvm.jar dev.apfsim.realkvm.Demo appc-user-fault</pre>
 * Options: {@code --raw} prints the trace lines as the kernel wrote them; {@code --ms N} sets the time limit;
 * {@code --save DIR} writes the trace to DIR/EXPERIMENT.trace.
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) throws IOException {
        var all = Experiments.all();
        String name = null;
        boolean raw = false;
        long ms = -1;
        Path save = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--raw" -> raw = true;
                case "--ms" -> {
                    ms = i + 1 < args.length && args[i + 1].matches("\\d+") ? Long.parseLong(args[++i]) : -2;
                    if (ms <= 0) {
                        usage(all, "--ms wants a positive number of milliseconds");
                    }
                }
                case "--save" -> {
                    if (i + 1 >= args.length || !Files.isDirectory(Path.of(args[i + 1]))) {
                        usage(all, "--save wants an existing directory");
                    }
                    save = Path.of(args[++i]);
                }
                default -> {
                    if (args[i].startsWith("-") || name != null) {
                        usage(all, "unexpected argument " + args[i]);
                    }
                    name = args[i];
                }
            }
        }
        if (name == null || !all.containsKey(name)) {
            usage(all, name == null ? "which experiment?" : "no experiment " + name);
        }
        Probe p = Probe.probe();
        System.out.println("host: " + p);
        if (!(p instanceof Probe.Usable u)) {
            System.exit(3);
            return;
        }
        Experiments.Experiment e = all.get(name);
        System.out.println("experiment " + e.name() + ": " + e.shows());
        e.guest().regions().forEach(g -> System.out.printf("region %s at gpa %#x, %d pages: %s%n", g.name(), g.gpa(),
                g.pages(), Backing.describe(g.backing())));
        Recording r;
        try {
            r = RealKvm.record(e.guest(), u.backend(), ms > 0 ? ms : e.timeLimitMs());
        } catch (IOException | RuntimeException x) {
            System.err.println("Demo: the run failed: " + x.getMessage());
            System.exit(1);
            return;
        }
        if (raw) {
            r.trace().forEach(System.out::println);
        }
        for (String line : timeline(r)) {
            System.out.println(line);
        }
        if (!r.missingEvents().isEmpty()) {
            System.out.println("events this kernel lacks: " + r.missingEvents());
        }
        System.out.println("end: " + r.end());
        if (save != null) {
            Path f = save.resolve(e.name() + ".trace");
            r.writeTrace(f);
            System.out.println("trace written to " + f);
        }
    }

    private static void usage(Map<String, Experiments.Experiment> all, String problem) {
        System.err.println("Demo: " + problem);
        System.err.println("usage: Demo [--raw] [--ms N] [--save DIR] EXPERIMENT");
        all.values().forEach(e -> System.err.printf("  %-26s %s%n", e.name(), e.shows()));
        System.exit(2);
    }

    /** The three logs merged on one time axis. */
    static List<String> timeline(Recording r) {
        record Item(long t, String text) {
        }
        List<Item> items = new ArrayList<>();
        for (ApfEvent ev : RealKvm.events(r)) {
            items.add(new Item(ev.timeNs(), "kvm   vcpu" + ev.vcpu() + " " + ev.key()));
        }
        for (GuestEvent g : r.guestEvents()) {
            items.add(new Item(g.timeNs(), "guest " + g));
        }
        for (FaultRecord f : r.faults()) {
            items.add(new Item(f.timeNs(), String.format("uffd  fault gpa %#x %s by %s (tid %d)", f.gpa(),
                    f.write() ? "write" : "read", f.synchronous() ? "vcpu" + f.vcpu() + " thread (synchronous)"
                            : "another thread (async worker)", f.tid())));
        }
        for (ServiceRecord s : r.services()) {
            items.add(new Item(s.timeNs(), String.format("uffd  %s gpa %#x -> %s", s.action(), s.gpa(),
                    s.result() == 0 ? "ok" : "errno " + (-s.result()))));
        }
        items.sort((a, b) -> Long.compare(a.t(), b.t()));
        List<String> out = new ArrayList<>();
        for (Item i : items) {
            out.add(String.format("%10.1f us  %s", (i.t() - r.startNs()) / 1000.0, i.text()));
        }
        return out;
    }
}
