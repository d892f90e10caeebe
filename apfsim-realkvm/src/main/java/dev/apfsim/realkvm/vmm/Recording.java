package dev.apfsim.realkvm.vmm;

import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.realkvm.guest.GuestEvent;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.uffd.FaultRecord;
import dev.apfsim.realkvm.uffd.ServiceRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything one run on the real KVM produced: the raw trace lines of our threads and regions, the guest's
 * reports, the userfaultfd log, and how each vCPU ended. Times are System.nanoTime (the tracefs instance runs
 * on the same {@code mono} clock); {@code startNs} is when the vCPUs were let go.
 *
 * @param vcpuTids kernel thread id of each vCPU thread (index = vCPU)
 * @param regionHvas host address range [start, end) of each remote region, to tell our kworker events
 */
public record Recording(String guest, Backend backend, int pageReadyVector, long startNs, long endNs, List<String> trace,
                        List<String> missingEvents, List<GuestEvent> guestEvents, List<FaultRecord> faults,
                        List<ServiceRecord> services, List<VcpuEnd> vcpuEnds, List<Integer> vcpuTids,
                        Map<String, long[]> regionHvas) {

    /** The run's end: the first vCPU failure if any, else still running if any vCPU was, else finished. */
    public RunEnd end() {
        for (int v = 0; v < vcpuEnds.size(); v++) {
            VcpuEnd e = vcpuEnds.get(v);
            if (!(e instanceof VcpuEnd.Finished) && !(e instanceof VcpuEnd.TimeLimit)) {
                return new RunEnd(e.kind(), "vcpu " + v + ": " + VcpuEnd.describe(e));
            }
        }
        for (int v = 0; v < vcpuEnds.size(); v++) {
            if (vcpuEnds.get(v) instanceof VcpuEnd.TimeLimit t) {
                return new RunEnd(RunEnd.Kind.STILL_RUNNING, "vcpu " + v + " at " + t.where());
            }
        }
        return RunEnd.of(RunEnd.Kind.FINISHED);
    }

    /**
     * When each vCPU whose guest stopped itself (a panic, an unexpected exception) made its last report, on the
     * trace's clock: work still in flight then completes in a kworker while the VMM tears down.
     */
    public Map<Integer, Long> guestStops() {
        Map<Integer, Long> m = new TreeMap<>();
        for (int v = 0; v < vcpuEnds.size(); v++) {
            if (vcpuEnds.get(v) instanceof VcpuEnd.Panic || vcpuEnds.get(v) instanceof VcpuEnd.GuestException) {
                int vcpu = v;
                guestEvents.stream().filter(g -> g.vcpu() == vcpu).mapToLong(GuestEvent::timeNs).max()
                        .ifPresent(t -> m.put(vcpu, t));
            }
        }
        return m;
    }

    /**
     * Writes the trace as the kernel printed it, after a comment header naming the run (ftrace readers and
     * {@link dev.apfsim.realkvm.events.FtraceLine} skip '#' lines).
     */
    public void writeTrace(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        out.add("# apfsim-realkvm recording of " + guest + " on " + backend);
        out.add("# page-ready vector " + pageReadyVector + "; end: " + end());
        guestStops().forEach((v, t) -> out.add("# vcpu " + v + " stopped by its guest at " + t + " ns"));
        out.addAll(trace);
        Files.write(file, out);
    }
}
