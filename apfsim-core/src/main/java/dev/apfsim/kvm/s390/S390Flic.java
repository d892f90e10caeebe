package dev.apfsim.kvm.s390;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The VM's floating interrupts ({@code kvm->arch.float_int}) as far as pfault uses them: the
 * {@code FIRQ_LIST_PFAULT} list of PFAULT_DONE tokens, which any vCPU with external interrupts enabled may take,
 * and {@code __floating_irq_kick}: wake an idle vCPU first, else kick the next one round-robin.
 */
public final class S390Flic {
    private final ArrayDeque<Long> pfaultDone = new ArrayDeque<>();
    private final List<S390Vcpu> vcpus = new ArrayList<>();
    private int nextRr;
    private final dev.apfsim.engine.Simulator sim;

    public S390Flic(dev.apfsim.engine.Simulator sim) {
        this.sim = sim;
    }

    void add(S390Vcpu v) {
        vcpus.add(v);
    }

    /** A step reads or changes the floating interrupts (the checker's partial-order reduction: vCPUs share them). */
    private void touch() {
        sim.touch(dev.apfsim.engine.Access.S390_FLIC);
    }

    /** {@code __inject_pfault_done}: appended to the list, then {@code __floating_irq_kick}. */
    void injectPfaultDone(long token) {
        touch();
        pfaultDone.addLast(token);
        for (S390Vcpu v : vcpus) {
            sim.touch(dev.apfsim.engine.Access.VCPU | v.kvm.id); // "find idle VCPUs first" reads each
            if (v.idle()) {
                v.kvm.kick(); // "find idle VCPUs first"
                return;
            }
        }
        S390Vcpu v = vcpus.get(nextRr);
        nextRr = (nextRr + 1) % vcpus.size();
        v.kvm.kick();
    }

    /** How many PFAULT_DONEs wait to be taken (the checker's abstract state; no access recorded). */
    public int size() {
        return pfaultDone.size();
    }

    boolean pending() {
        touch();
        return !pfaultDone.isEmpty();
    }

    /** A PFAULT_DONE whose token names task {@code pid} is pending. */
    boolean containsPid(long pid) {
        touch();
        for (long t : pfaultDone) {
            if ((t & 0xffffffffL) == pid) {
                return true;
            }
        }
        return false;
    }

    /** {@code __deliver_pfault_done}: the oldest token. */
    long take() {
        touch();
        return pfaultDone.pollFirst();
    }
}
