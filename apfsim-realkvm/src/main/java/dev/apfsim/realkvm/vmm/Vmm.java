package dev.apfsim.realkvm.vmm;

import dev.apfsim.realkvm.events.FtraceLine;
import dev.apfsim.realkvm.ffi.Libc;
import dev.apfsim.realkvm.guest.GuestEvent;
import dev.apfsim.realkvm.guest.GuestGenerator;
import dev.apfsim.realkvm.guest.GuestImage;
import dev.apfsim.realkvm.guest.GuestLayout;
import dev.apfsim.realkvm.guest.TestGuest;
import dev.apfsim.realkvm.kvm.Backend;
import dev.apfsim.realkvm.kvm.CpuidEntry;
import dev.apfsim.realkvm.kvm.Kvm;
import dev.apfsim.realkvm.kvm.KvmAbi;
import dev.apfsim.realkvm.kvm.Vcpu;
import dev.apfsim.realkvm.kvm.Vm;
import dev.apfsim.realkvm.tracefs.TraceSession;
import dev.apfsim.realkvm.uffd.UffdServer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one test guest on the host's KVM: builds the VM (in-kernel irqchip, a resident slot, one
 * userfaultfd-backed slot per remote region, CPUID with the test's PV leaves), starts one thread per vCPU,
 * records the tracepoints of our threads and the guest's reports, and stops at the guest's end or the time
 * limit. Every descriptor, mapping and the tracefs instance is released on every path.
 */
public final class Vmm {
    private Vmm() {
    }

    /** Host memory we mapped, unmapped at the end unless the userfaultfd server already did (munmap backing). */
    private record Mapping(String region, MemorySegment seg) {
    }

    public static Recording run(TestGuest guest, Backend backend, RunOptions opts) throws IOException {
        return run(GuestGenerator.generate(guest, backend), opts);
    }

    public static Recording run(GuestImage image, RunOptions opts) throws IOException {
        TestGuest guest = image.guest();
        List<Mapping> mappings = new ArrayList<>();
        List<VcpuRunner> runners = new ArrayList<>();
        List<GuestEvent> events = new ArrayList<>();
        Map<String, long[]> regionHvas = new LinkedHashMap<>();
        TraceSession trace = null;
        UffdServer uffd = new UffdServer();
        Kvm kvm = null;
        Vm vm = null;
        CountDownLatch go = new CountDownLatch(1);
        try {
            kvm = Kvm.open();
            vm = kvm.createVm();
            vm.createIrqchip();
            if (image.backend().wantsTssAddr()) {
                vm.setTssAddr(GuestLayout.VMX_TSS_ADDR);
            }
            MemorySegment resident = Libc.mmap(0, GuestLayout.RESIDENT_SIZE, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE | Libc.MAP_POPULATE, -1, 0);
            mappings.add(new Mapping(null, resident));
            for (GuestImage.Chunk c : image.chunks()) {
                MemorySegment.copy(MemorySegment.ofArray(c.bytes()), 0, resident, c.gpa(), c.bytes().length);
            }
            vm.setMemoryRegion(0, 0, GuestLayout.RESIDENT_SIZE, resident.address());
            int slot = 1;
            for (TestGuest.RemoteRegion r : guest.regions()) {
                long size = r.pages() * UffdServer.PAGE;
                MemorySegment m = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE,
                        Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
                mappings.add(new Mapping(r.name(), m));
                uffd.register(r.name(), m, r.gpa(), r.backing());
                vm.setMemoryRegion(slot++, r.gpa(), size, m.address());
                regionHvas.put(r.name(), new long[] {m.address(), m.address() + size});
            }
            List<CpuidEntry> supported = kvm.supportedCpuid();
            List<String> missing = List.of();
            if (opts.trace()) {
                trace = TraceSession.open(TraceSession.EVENTS);
                missing = trace.missing();
                trace.start();
            }
            CountDownLatch ready = new CountDownLatch(guest.vcpus());
            for (int v = 0; v < guest.vcpus(); v++) {
                Vcpu cpu = vm.createVcpu(v);
                cpu.setCpuid(CpuidBuilder.build(supported, guest.cpuid(), v));
                if (guest.cpuid().enforce()) {
                    cpu.enableCap(KvmAbi.KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
                }
                cpu.enterLongMode(image.entries().get(v));
                if (v > 0) {
                    cpu.setRunnable();
                }
                runners.add(new VcpuRunner(cpu, image, events, ready, go));
            }
            runners.forEach(VcpuRunner::start);
            if (!ready.await(10, TimeUnit.SECONDS)) {
                throw new IOException("vCPU threads did not start");
            }
            for (VcpuRunner r : runners) {
                if (r.failure() != null) {
                    throw new IOException("vCPU thread set-up failed: " + r.failure(), r.failure());
                }
            }
            Map<Integer, Integer> tids = new HashMap<>();
            List<Integer> tidList = new ArrayList<>();
            for (int v = 0; v < runners.size(); v++) {
                tids.put(runners.get(v).tid(), v);
                tidList.add(runners.get(v).tid());
            }
            uffd.setVcpuThreads(tids);
            uffd.start();
            long start = System.nanoTime();
            go.countDown();
            waitForEnd(runners, uffd, start + opts.timeLimitNs());
            long endNs = System.nanoTime();
            uffd.close(); // joins the server thread: its log is complete
            List<String> lines = trace == null ? List.of() : ours(trace.stop(), tids.keySet(), regionHvas.values());
            List<VcpuEnd> ends = new ArrayList<>();
            for (VcpuRunner r : runners) {
                ends.add(r.end() == null ? new VcpuEnd.TimeLimit("stuck in KVM_RUN") : r.end());
            }
            if (uffd.failure() != null) {
                throw new IOException("userfaultfd server failed: " + uffd.failure().getMessage(), uffd.failure());
            }
            List<GuestEvent> guestEvents;
            synchronized (events) {
                guestEvents = List.copyOf(events);
            }
            return new Recording(guest.name(), image.backend(), guest.intVector(), start, endNs, lines, missing, guestEvents,
                    uffd.faults(), uffd.services(), ends, tidList, regionHvas);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            go.countDown(); // a runner still waiting to start sees the stop at once
            for (VcpuRunner r : runners) {
                r.kick();
            }
            for (VcpuRunner r : runners) {
                try {
                    r.join(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (trace != null) {
                trace.close();
            }
            Set<String> unmapped = uffd.unmappedRegions();
            uffd.close();
            if (runners.stream().anyMatch(VcpuRunner::alive)) {
                // a thread still inside KVM_RUN uses its kvm_run page: leak the VM rather than crash the JVM
                System.err.println("apfsim: a vCPU thread did not leave KVM_RUN; its VM is left to process exit");
            } else {
                if (vm != null) {
                    vm.deleteAllSlots();
                    vm.close();
                }
                if (kvm != null) {
                    kvm.close();
                }
                for (Mapping m : mappings) {
                    if (m.region() == null || !unmapped.contains(m.region())) {
                        Libc.munmap(m.seg().address(), m.seg().byteSize());
                    }
                }
            }
        }
    }

    /**
     * Waits for every vCPU to end; at the limit kicks them (immediate_exit and the signal). A vCPU thread that
     * still does not come back is blocked in a fault nobody answers (the signal cannot interrupt every such
     * sleep): closing the userfaultfds releases it.
     */
    private static void waitForEnd(List<VcpuRunner> runners, UffdServer uffd, long deadline)
            throws InterruptedException {
        for (VcpuRunner r : runners) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left > 0) {
                r.join(left);
            }
        }
        runners.forEach(VcpuRunner::kick);
        boolean all = true;
        for (VcpuRunner r : runners) {
            all &= r.join(500);
        }
        if (!all) {
            uffd.close();
            for (VcpuRunner r : runners) {
                r.kick();
                r.join(1000);
            }
        }
    }

    /** Lines from our vCPU threads, and completions (in a kworker) of faults on our regions. */
    static List<String> ours(List<String> lines, Set<Integer> tids, Collection<long[]> hvas) {
        List<String> out = new ArrayList<>();
        for (String s : lines) {
            FtraceLine l = FtraceLine.parse(s);
            if (l == null) {
                continue;
            }
            if (tids.contains(l.pid())) {
                out.add(s);
            } else if (l.name().equals("kvm_async_pf_completed")) {
                int at = l.fields().indexOf("address ");
                if (at >= 0) {
                    long hva = Long.parseUnsignedLong(l.fields().substring(at + 10).split("\\s")[0], 16);
                    if (hvas.stream().anyMatch(r -> hva >= r[0] && hva < r[1])) {
                        out.add(s);
                    }
                }
            }
        }
        return out;
    }
}
