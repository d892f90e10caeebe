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

    void add(S390Vcpu v) {
        vcpus.add(v);
    }

    /** {@code __inject_pfault_done}: appended to the list, then {@code __floating_irq_kick}. */
    void injectPfaultDone(long token) {
        pfaultDone.addLast(token);
        for (S390Vcpu v : vcpus) {
            if (v.idle()) {
                v.kvm.kick(); // "find idle VCPUs first"
                return;
            }
        }
        S390Vcpu v = vcpus.get(nextRr);
        nextRr = (nextRr + 1) % vcpus.size();
        v.kvm.kick();
    }

    boolean pending() {
        return !pfaultDone.isEmpty();
    }

    /** A PFAULT_DONE whose token names task {@code pid} is pending. */
    boolean containsPid(long pid) {
        for (long t : pfaultDone) {
            if ((t & 0xffffffffL) == pid) {
                return true;
            }
        }
        return false;
    }

    /** {@code __deliver_pfault_done}: the oldest token. */
    long take() {
        return pfaultDone.pollFirst();
    }
}
