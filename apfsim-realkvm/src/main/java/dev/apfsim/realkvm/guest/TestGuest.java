package dev.apfsim.realkvm.guest;

import dev.apfsim.realkvm.uffd.Backing;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A kvm-unit-tests-style guest described by its handlers, not by a Linux version: the APF area, the PV
 * features CPUID advertises, the remote regions behind userfaultfd, what the #PF handler does with an async
 * "page not present", the page-ready handler's steps in the user's order, and each vCPU's main program as a
 * list of {@link Step}s with the CPL of each. The scenario format's test guests map onto this record.
 *
 * <p>A guest that sleeps the faulting task (as Linux does) needs a scheduler; this tiny guest has none, so its
 * #PF handler can only {@link NotPresentReaction#SPIN spin}, {@link NotPresentReaction#RETURN return} or
 * {@link NotPresentReaction#PANIC panic}.
 */
public record TestGuest(String name, ApicMode apic, PvCpuid cpuid, long apfArea, int intVector,
                        NotPresentReaction onNotPresent, List<ReadyStep> pageReady, List<RemoteRegion> regions,
                        List<List<Step>> programs) {

    public TestGuest {
        Objects.requireNonNull(name, "name");
        pageReady = List.copyOf(pageReady);
        regions = List.copyOf(regions);
        programs = programs.stream().map(List::copyOf).toList();
    }

    public int vcpus() {
        return programs.size();
    }

    /** The guest-physical address of vCPU {@code v}'s {@code struct kvm_vcpu_pv_apf_data}. */
    public long apfArea(int v) {
        return apfArea + 64L * v;
    }

    public enum ApicMode { X2APIC, XAPIC }

    /** Privilege level of a step; CPL3 steps run after an {@code iretq} to user mode. */
    public enum Cpl { CPL0, CPL3 }

    /** What the #PF handler does when the APF area's flags say "page not present" (KVM_PV_REASON 1). */
    public enum NotPresentReaction {
        /** Note the token, enable interrupts and spin until the page-ready handler has seen it, then return. */
        SPIN,
        /** Return at once; the access is retried while the page is still outstanding. */
        RETURN,
        /** Report and stop, as Linux does for an async #PF it cannot sleep on. */
        PANIC
    }

    /** The page-ready interrupt handler's steps, run (and reported) in the order given. */
    public enum ReadyStep {
        /** Read {@code token} from the APF area and wake the spinning #PF handler if it waits for it. */
        READ_TOKEN,
        /** Write 0 to {@code token}: the slot is free for the next page-ready. */
        ZERO_TOKEN,
        /** {@code wrmsr MSR_KVM_ASYNC_PF_ACK = 1}: KVM may deliver the next page-ready. */
        ACK,
        /** End of interrupt at the local APIC. */
        EOI
    }

    /**
     * What leaf 0x40000001 advertises ({@code KVM_FEATURE_ASYNC_PF}, {@code _ASYNC_PF_VMEXIT},
     * {@code _ASYNC_PF_INT}) and whether KVM_CAP_ENFORCE_PV_FEATURE_CPUID is enabled, which makes KVM refuse
     * the MSRs of features not advertised.
     */
    public record PvCpuid(boolean asyncPf, boolean asyncPfVmexit, boolean asyncPfInt, boolean enforce) {
        public static PvCpuid all() {
            return new PvCpuid(true, true, true, false);
        }
    }

    /** Guest-physical pages behind userfaultfd, served as {@code backing} says. */
    public record RemoteRegion(String name, long gpa, int pages, Backing backing) {
        public long end() {
            return gpa + pages * 4096L;
        }
    }

    /** One step of a vCPU's main program. */
    public sealed interface Step {
        default Cpl cpl() {
            return Cpl.CPL0;
        }
    }

    /** Read or write the page at {@code gva}; the value read is reported. */
    public record Touch(long gva, boolean write, Cpl cpl) implements Step {
    }

    /** {@code cli} (and the virtual-IF cell on a software backend). CPL0 only. */
    public record Cli() implements Step {
    }

    /** {@code sti} (and the virtual-IF cell on a software backend). CPL0 only. */
    public record Sti() implements Step {
    }

    /** A loop of {@code iterations} {@code pause} instructions. */
    public record Pause(int iterations, Cpl cpl) implements Step {
    }

    /** A loop of {@code iterations} register additions (compute without memory traffic). */
    public record Compute(int iterations, Cpl cpl) implements Step {
    }

    /** {@code wrmsr}. CPL0 only. */
    public record WriteMsr(int msr, long value) implements Step {
    }

    /** {@code rdmsr}; the low 32 bits are reported. CPL0 only. */
    public record ReadMsr(int msr) implements Step {
    }

    /** {@code MSR_KVM_ASYNC_PF_INT = vector} then {@code MSR_KVM_ASYNC_PF_EN = area | flags}. CPL0 only. */
    public record EnableApf(long flags) implements Step {
    }

    /** An {@code out} report of {@code value} to the VMM (from CPL3 through a call into the kernel). */
    public record Report(int value, Cpl cpl) implements Step {
    }

    /** An {@code in} from the VMM (it answers its clock in µs); the value is reported. CPL0 only. */
    public record In() implements Step {
    }

    /** {@code hlt}: with IF=1 the vCPU sleeps until an interrupt. CPL0 only. */
    public record Hlt() implements Step {
    }

    /** The program's end: reported, and the VMM stops this vCPU. */
    public record End() implements Step {
    }

    /** Problems that make the description unusable, each naming its field; empty when it is valid. */
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (programs.isEmpty() || programs.size() > GuestLayout.MAX_VCPUS) {
            p.add("programs: one program per vCPU, 1 to " + GuestLayout.MAX_VCPUS + " vCPUs (got "
                    + programs.size() + ")");
        }
        if (apfArea % 64 != 0 || apfArea < GuestLayout.APF_PAGE
                || apfArea(Math.max(0, vcpus() - 1)) + 64 > GuestLayout.APF_LIMIT) {
            p.add(String.format("apfArea: 64-byte aligned, within the APF pages %#x-%#x for every vCPU (got %#x)",
                    GuestLayout.APF_PAGE, GuestLayout.APF_LIMIT - 1, apfArea));
        }
        if (intVector < 32 || intVector > 255) {
            p.add("intVector: 32 to 255 (got " + intVector + ")");
        }
        long prevEnd = GuestLayout.RESIDENT_SIZE;
        List<RemoteRegion> sorted = regions.stream().sorted((a, b) -> Long.compare(a.gpa(), b.gpa())).toList();
        for (RemoteRegion r : sorted) {
            if (r.gpa() % 4096 != 0 || r.pages() <= 0) {
                p.add("regions." + r.name() + ": page-aligned gpa and at least one page");
            }
            if (r.gpa() < prevEnd) {
                p.add(String.format("regions.%s: gpa %#x overlaps the resident memory or another region",
                        r.name(), r.gpa()));
            }
            if (r.end() > GuestLayout.MAPPED_LIMIT) {
                p.add(String.format("regions.%s: must end below %#x (the identity map)", r.name(),
                        GuestLayout.MAPPED_LIMIT));
            }
            prevEnd = Math.max(prevEnd, r.end());
        }
        for (int v = 0; v < programs.size(); v++) {
            List<Step> prog = programs.get(v);
            for (int i = 0; i < prog.size(); i++) {
                Step s = prog.get(i);
                String where = "programs[" + v + "][" + i + "] " + s.getClass().getSimpleName();
                if (s instanceof Touch t && regionOf(t.gva()) == null && !GuestLayout.isScratch(t.gva())) {
                    p.add(String.format("%s: gva %#x is neither in a region nor in the scratch page %#x",
                            where, t.gva(), GuestLayout.SCRATCH_PAGE));
                }
                if ((s instanceof Pause(int n, Cpl c) && n <= 0) || (s instanceof Compute(int m, Cpl d) && m <= 0)) {
                    p.add(where + ": iterations must be positive");
                }
                if (s instanceof End && i != prog.size() - 1) {
                    p.add(where + ": End must be the last step");
                }
            }
        }
        return p;
    }

    public RemoteRegion regionOf(long gpa) {
        for (RemoteRegion r : regions) {
            if (gpa >= r.gpa() && gpa < r.end()) {
                return r;
            }
        }
        return null;
    }
}
