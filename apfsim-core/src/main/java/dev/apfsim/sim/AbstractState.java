package dev.apfsim.sim;

import dev.apfsim.arch.x86.ApfMsr;
import dev.apfsim.guest.Task;
import dev.apfsim.kvm.KvmVcpu;
import dev.apfsim.kvm.VcpuView;
import dev.apfsim.kvm.x86.X86Vcpu;

import java.util.List;

/**
 * The protocol state of a machine with time and token numbers abstracted away, as a model checker of the protocol
 * would see it: per vCPU its run state (and a migration waiting for the thread to leave KVM_RUN), APF registers
 * (MSR values, {@code pageready_pending}, the error policy's {@code error_gfn}s), the gfn hash, the token slot
 * (busy or not), pending interrupts, the queue's gfns and the done list's length; on s390 its pfault state
 * ({@link dev.apfsim.kvm.s390.S390Vcpu#abstractState}); per task its state, where it is in its script, the gfn it
 * waits for (its wait token named by the outstanding item it belongs to, so a token climbing by 0x1000 per retry
 * is the same state) and its s390 {@code thread.pfault_wait}. Two runs in the same abstract state take the same steps from
 * there, up to costs, which the state leaves out.
 */
public final class AbstractState {
    private AbstractState() {
    }

    public static long hash(Machine m) {
        long h = 0x9E3779B97F4A7C15L;
        List<KvmVcpu> vcpus = m.vcpus();
        for (KvmVcpu v : vcpus) {
            h = mix(h, v.runState().ordinal());
            h = mix(h, v.migrationPending() ? 1 : 0); // a VMM action still to come: not the same future
            h = mix(h, v.asyncPf().doneSize());
            for (VcpuView.Outstanding w : v.outstanding()) {
                h = mix(h, w.gfn());
            }
            h = mix(h, -7);
        }
        for (X86Vcpu x : m.x86Vcpus()) {
            h = mix(h, x.apf.msrEnVal);
            h = mix(h, x.apf.msrIntVal);
            h = mix(h, x.apf.pageReadyPending ? 1 : 0);
            h = mix(h, x.apf.halted ? 1 : 0);
            for (int i = 0; i < dev.apfsim.kvm.ApfGfnHash.SLOTS; i++) {
                long g = x.apf.gfns.slotValue(i);
                if (g != ~0L) {
                    h = mix(h, i * 0x10001L + g);
                }
            }
            h = mix(h, x.errorPolicyState());
            long slot = x.apf.dataGpa + ApfMsr.OFFSET_TOKEN;
            h = mix(h, x.apf.dataGpa >= 0 && m.ram().valid(slot) && m.ram().read32(slot) != 0 ? 1 : 0);
            h = mix(h, x.lapic.hasInterrupt() ? 1 : 0);
            h = mix(h, x.lapic.enabled() ? 1 : 0);
            h = mix(h, x.cpu.interruptFlag ? 1 : 0);
        }
        for (dev.apfsim.kvm.s390.S390Vcpu z : m.s390Vcpus()) {
            h = mix(h, z.abstractState());
        }
        for (Task t : m.guest().tasks()) {
            h = mix(h, m.pfaultWait(t)); // s390 thread.pfault_wait (0 elsewhere)
            h = mix(h, t.state().ordinal());
            h = mix(h, t.programPosition());
            h = mix(h, t.state() == Task.State.APF_SLEEP ? waitedGfn(vcpus, t.sleepToken()) : -2);
        }
        return h;
    }

    /**
     * One task's share of the state, as seen at its fault attempt on {@code gfn}: its own state and place in its
     * script, and of the protocol only what that fault can meet again (its vCPU's APF registers, the error
     * policy's state, whether the gfn is in the hash, the items outstanding for the gfn), and how often the host
     * brought the page in: a page that arrives and is reclaimed again before the task retries (thrashing) is the
     * host making progress, one that never arrives (a failing GUP) is not. Other tasks, which may make progress
     * meanwhile, are left out: a repeat here is this task's own retry cycle (a subset livelock).
     */
    public static long taskHash(Machine m, Task t, long gfn) {
        long h = mix(mix(mix(0x7F4A7C15L, t.state().ordinal()), t.programPosition()), gfn);
        h = mix(h, m.memory().arrivals(gfn));
        for (KvmVcpu v : m.vcpus()) {
            for (VcpuView.Outstanding w : v.outstanding()) {
                if (w.gfn() == gfn) {
                    h = mix(h, v.id() * 2L + (w.completed() ? 1 : 0));
                }
            }
        }
        if (t.cpu < m.x86Vcpus().size()) {
            X86Vcpu x = m.x86Vcpus().get(t.cpu);
            h = mix(h, x.apf.msrEnVal);
            h = mix(h, x.apf.msrIntVal);
            h = mix(h, x.apf.pageReadyPending ? 1 : 0);
            h = mix(h, x.apf.gfns.contains(gfn) ? 1 : 0);
            h = mix(h, x.errorPolicyState());
        }
        return h;
    }

    /** The gfn of the outstanding item whose token a sleeper waits on; -1 when none has it (in flight or lost). */
    private static long waitedGfn(List<KvmVcpu> vcpus, long token) {
        for (KvmVcpu v : vcpus) {
            for (VcpuView.Outstanding w : v.outstanding()) {
                if (w.token() == token) {
                    return w.gfn();
                }
            }
        }
        return -1;
    }

    private static long mix(long h, long v) {
        return dev.apfsim.engine.RandomStreams.mix(h * 31 + v);
    }
}
