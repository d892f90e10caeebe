package dev.apfsim.realkvm.kvm;

import dev.apfsim.realkvm.ffi.Errno;
import dev.apfsim.realkvm.ffi.Libc;
import dev.apfsim.realkvm.ffi.NativeException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static dev.apfsim.realkvm.kvm.KvmAbi.*;

/**
 * Whether this host can run a conformance experiment, decided without changing anything on it: either
 * {@link Usable} with the backend found, or {@link Unusable} with the one reason that stops us.
 */
public sealed interface Probe {
    record Usable(Backend backend, int apiVersion, String kernel, Map<String, Integer> capabilities)
            implements Probe {
        @Override
        public String toString() {
            return "usable: " + backend + ", KVM API " + apiVersion + ", host kernel " + kernel;
        }
    }

    record Unusable(String reason) implements Probe {
        @Override
        public String toString() {
            return "unusable: " + reason;
        }
    }

    /** The capabilities a conformance run needs, by their {@code KVM_CAP_*} names. */
    Map<String, Integer> REQUIRED = Map.of("KVM_CAP_ASYNC_PF", KVM_CAP_ASYNC_PF,
            "KVM_CAP_ASYNC_PF_INT", KVM_CAP_ASYNC_PF_INT, "KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP,
            "KVM_CAP_ENFORCE_PV_FEATURE_CPUID", KVM_CAP_ENFORCE_PV_FEATURE_CPUID);

    static Probe probe() {
        return probe(Path.of("/"));
    }

    /** {@code root} is where /dev, /proc and /sys are looked up (a test passes a fake tree). */
    static Probe probe(Path root) {
        return probe(root, root.resolve(Kvm.DEVICE.substring(1)));
    }

    /** {@link #probe(Path)} with the KVM device at {@code device} instead of {@code root/dev/kvm}. */
    static Probe probe(Path root, Path device) {
        if (!Files.exists(device)) {
            return new Unusable("no " + device + " (KVM is not available on this host)");
        }
        Map<String, Integer> caps = new TreeMap<>();
        int api;
        try (Kvm kvm = Kvm.open(device.toString())) {
            api = kvm.apiVersion();
            if (api != KVM_API_VERSION) {
                return new Unusable("KVM API version " + api + ", expected " + KVM_API_VERSION);
            }
            List<String> missing = new ArrayList<>();
            for (var e : new TreeMap<>(REQUIRED).entrySet()) {
                int v = kvm.checkExtension(e.getValue());
                caps.put(e.getKey(), v);
                if (v <= 0) {
                    missing.add(e.getKey());
                }
            }
            if (!missing.isEmpty()) {
                return new Unusable("missing capability " + String.join(", ", missing));
            }
        } catch (NativeException e) {
            if (e.errno() == Errno.EACCES || e.errno() == Errno.EPERM) {
                return new Unusable("no permission to open " + device + ": run as root or join the kvm group");
            }
            return new Unusable("cannot use " + device + ": " + e.getMessage());
        }
        long uffd = Libc.syscall(Libc.SYS_USERFAULTFD, Libc.O_CLOEXEC | Libc.O_NONBLOCK, 0, 0);
        if (uffd < 0) {
            return new Unusable("userfaultfd is not permitted (" + Errno.name((int) -uffd)
                    + "): run as root, or set vm.unprivileged_userfaultfd=1");
        }
        Libc.closeQuietly((int) uffd);
        String tracefs = tracefsProblem(root);
        if (tracefs != null) {
            return new Unusable("tracefs unavailable: " + tracefs);
        }
        return new Usable(backend(root), api, kernel(root), caps);
    }

    /** Null when a private tracefs instance can be made (tracefs mounted, or mountable by us). */
    private static String tracefsProblem(Path root) {
        Path mounted = root.resolve("sys/kernel/tracing/instances");
        boolean root0 = Libc.geteuid() == 0;
        if (Files.isDirectory(mounted)) {
            return Files.isWritable(mounted) || root0 ? null : "cannot create an instance under " + mounted
                    + " (run as root)";
        }
        try {
            if (!Files.readString(root.resolve("proc/filesystems")).contains("tracefs")) {
                return "the kernel has no tracefs";
            }
        } catch (IOException e) {
            return "cannot read /proc/filesystems";
        }
        return root0 ? null : "tracefs is not mounted at /sys/kernel/tracing and only root may mount it";
    }

    /** VMX or SVM from the CPU flags and the vendor module; otherwise the software backend's module. */
    static Backend backend(Path root) {
        String flags = "";
        try {
            for (String line : Files.readAllLines(root.resolve("proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    flags = " " + line.substring(line.indexOf(':') + 1).trim() + " ";
                    break;
                }
            }
        } catch (IOException ignored) {
            // no cpuinfo: fall back to the module list
        }
        Path mods = root.resolve("sys/module");
        if (flags.contains(" vmx ") && Files.isDirectory(mods.resolve("kvm_intel"))) {
            return Backend.vmx();
        }
        if (flags.contains(" svm ") && Files.isDirectory(mods.resolve("kvm_amd"))) {
            return Backend.svm();
        }
        try (var s = Files.list(mods)) {
            List<String> kvmMods = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("kvm_") && !n.equals("kvm_intel") && !n.equals("kvm_amd"))
                    .sorted().toList();
            if (!kvmMods.isEmpty()) {
                return new Backend(Backend.Kind.SOFTWARE, kvmMods.getFirst());
            }
        } catch (IOException ignored) {
            // fall through
        }
        if (flags.contains(" vmx ")) {
            return Backend.vmx();
        }
        if (flags.contains(" svm ")) {
            return Backend.svm();
        }
        return new Backend(Backend.Kind.SOFTWARE, "unknown");
    }

    private static String kernel(Path root) {
        try {
            return Files.readString(root.resolve("proc/sys/kernel/osrelease")).trim().toLowerCase(Locale.ROOT);
        } catch (IOException e) {
            return "unknown";
        }
    }
}
