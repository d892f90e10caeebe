package dev.apfsim.check;

import dev.apfsim.kvm.ApfGfnHash;
import dev.apfsim.kvm.KvmAsyncPf;
import dev.apfsim.kvm.x86.X86Vcpu;
import dev.apfsim.trace.FtraceFormat;

import java.util.List;
import java.util.TreeSet;

/**
 * x86: between run slices, each vCPU's gfn hash holds exactly the gfns of its outstanding items. The hash is what
 * {@code kvm_find_async_pf_gfn} consults to turn a second fault on a gfn into a synthetic halt: a gfn left in it
 * with no item halts the vCPU for a page-ready that never comes, an item missing from it lets the same gfn fault
 * asynchronously twice ({@code kvm_add_async_pf_gfn} in {@code kvm_arch_async_page_not_present},
 * {@code kvm_del_async_pf_gfn} in {@code kvm_arch_async_page_present}).
 */
public final class GfnHashCheck {
    private final List<X86Vcpu> vcpus;
    private final Monitor monitor;
    private final boolean[] reported;

    public GfnHashCheck(List<X86Vcpu> vcpus, Monitor monitor) {
        this.vcpus = vcpus;
        this.monitor = monitor;
        this.reported = new boolean[vcpus.size()];
    }

    public void check() {
        for (X86Vcpu v : vcpus) {
            if (reported[v.id] || !v.apf.pvEnabled()) {
                continue;
            }
            TreeSet<Long> hash = new TreeSet<>();
            for (int i = 0; i < ApfGfnHash.SLOTS; i++) {
                long g = v.apf.gfns.slotValue(i);
                if (g != ~0L) {
                    hash.add(g);
                }
            }
            TreeSet<Long> items = new TreeSet<>();
            for (KvmAsyncPf w : v.asyncPf().queue()) {
                if (!w.wakeupAll && w.live) {
                    items.add(w.gfn);
                }
            }
            if (!hash.equals(items)) {
                reported[v.id] = true;
                TreeSet<Long> extra = new TreeSet<>(hash);
                extra.removeAll(items);
                TreeSet<Long> missing = new TreeSet<>(items);
                missing.removeAll(hash);
                monitor.violation(v.id, Invariant.GFN_HASH, "gfn hash " + (extra.isEmpty() ? "" : "holds "
                        + hex(extra) + " with no outstanding item") + (extra.isEmpty() || missing.isEmpty() ? ""
                        : "; it ") + (missing.isEmpty() ? "" : "lacks outstanding " + hex(missing)));
            }
        }
    }

    private static String hex(TreeSet<Long> gfns) {
        return gfns.stream().map(FtraceFormat::hex).toList().toString();
    }
}
