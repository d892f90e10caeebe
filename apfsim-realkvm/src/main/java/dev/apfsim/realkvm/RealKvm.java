package dev.apfsim.realkvm;

import dev.apfsim.realkvm.events.ApfEvent;
import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.events.Normaliser;
import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.Probe;
import dev.apfsim.realkvm.vmm.Recording;
import dev.apfsim.realkvm.vmm.RunOptions;
import dev.apfsim.realkvm.vmm.Vmm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * The entry points of the real-KVM side of {@code apfsim conform}:
 * <pre>
 *   Probe p = RealKvm.probe();                       // Unusable(reason): exit 3 with the reason
 *   Recording rec = RealKvm.record(guest, ((Probe.Usable) p).backend(), limitMs);
 *   ApfTrace real = RealKvm.trace(rec);
 *   ApfTrace model = ApfTrace.fromFtrace("model", modelLines, Normaliser.Options.model(guest.intVector()), end);
 *   DiffReport d = ConformDiff.compare(name, real, model);   // d.summaryLine(), d.render(), d.toJson()
 *   rec.writeTrace(keepDir.resolve("real.trace"));           // --keep
 * </pre>
 */
public final class RealKvm {
    private RealKvm() {
    }

    /**
     * System property (or, unset, environment variable {@value #DEVICE_ENV}) naming the KVM device the probe
     * checks instead of /dev/kvm: pointing it at a missing file shows what a host without KVM gets.
     */
    public static final String DEVICE_PROPERTY = "apfsim.kvm.device", DEVICE_ENV = "APFSIM_KVM_DEVICE";

    /** Whether this host can run experiments, and on which backend; never changes the host. */
    public static Probe probe() {
        String device = System.getProperty(DEVICE_PROPERTY, System.getenv(DEVICE_ENV));
        if (device != null && !device.isBlank()) {
            return Probe.probe(Path.of("/"), Path.of(device));
        }
        return Probe.probe();
    }

    /** Runs {@code guest} on the host's KVM for at most {@code timeLimitMs} of wall time. */
    public static Recording record(TestGuest guest, Backend backend, long timeLimitMs) throws IOException {
        return Vmm.run(guest, backend, RunOptions.ofMillis(timeLimitMs));
    }

    /**
     * The real side of a comparison: the recording's events and how the run ended, each vCPU whose guest
     * stopped itself cut at that point ({@link ApfTrace#cutAt}).
     */
    public static ApfTrace trace(Recording r) {
        return new ApfTrace("real", events(r), r.end()).cutAt(r.guestStops());
    }

    /** The recording's trace as the normalised APF event sequence, each event on its vCPU. */
    public static List<ApfEvent> events(Recording r) {
        Map<Integer, Integer> pidToVcpu = new HashMap<>();
        for (int v = 0; v < r.vcpuTids().size(); v++) {
            pidToVcpu.put(r.vcpuTids().get(v), v);
        }
        return Normaliser.fromText(r.trace(), new Normaliser.Options(r.pageReadyVector(),
                new HashSet<>(r.vcpuTids()), pidToVcpu, r.regionHvas().values()));
    }
}
