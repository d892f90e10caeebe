package dev.apfsim.guest;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code async_pf_sleepers[]}: 256 buckets of sleeping tasks or dummy nodes keyed by token
 * ({@code arch/x86/kernel/kvm.c}, KVM_TASK_SLEEP_HASHBITS = 8). Bucket lists keep insertion order.
 */
public final class SleeperTable {
    /** {@code struct kvm_task_sleep_node}; {@code task} null marks a dummy (wake arrived first). */
    public record Node(long token, int cpu, Task task) {
        boolean dummy() {
            return task == null;
        }
    }

    private final List<List<Node>> buckets = new ArrayList<>(256);

    private final dev.apfsim.engine.Simulator sim;

    public SleeperTable(dev.apfsim.engine.Simulator sim) {
        this.sim = sim;
        for (int i = 0; i < 256; i++) {
            buckets.add(new ArrayList<>(2));
        }
    }

    /** {@code hash_32(token, KVM_TASK_SLEEP_HASHBITS)}. */
    static int hash(long token) {
        return ((int) token * 0x61C88647) >>> (32 - 8);
    }

    private List<Node> bucket(long token) {
        return buckets.get(hash(token));
    }

    /** {@code _find_apf_task}. */
    Node find(long token) {
        sim.touch(dev.apfsim.engine.Access.SLEEPERS); // shared by the guest's CPUs
        for (Node n : bucket(token)) {
            if (n.token() == token) {
                return n;
            }
        }
        return null;
    }

    void add(Node n) {
        sim.touch(dev.apfsim.engine.Access.SLEEPERS);
        bucket(n.token()).add(n);
    }

    void remove(Node n) {
        sim.touch(dev.apfsim.engine.Access.SLEEPERS);
        bucket(n.token()).remove(n);
    }

    /**
     * Every node of {@code cpu}, dummies included, in bucket order: what {@code apf_task_wake_all} unhashes
     * ({@code cpu} &lt; 0: every node of every CPU).
     */
    List<Node> removeAllOfCpu(int cpu) {
        sim.touch(dev.apfsim.engine.Access.SLEEPERS);
        List<Node> out = new ArrayList<>();
        for (List<Node> b : buckets) {
            for (int i = 0; i < b.size(); ) {
                if (cpu < 0 || b.get(i).cpu() == cpu) {
                    out.add(b.remove(i));
                } else {
                    i++;
                }
            }
        }
        return out;
    }

    public int size() {
        int n = 0;
        for (List<Node> b : buckets) {
            n += b.size();
        }
        return n;
    }

    public int dummies() {
        int n = 0;
        for (List<Node> b : buckets) {
            for (Node x : b) {
                if (x.dummy()) {
                    n++;
                }
            }
        }
        return n;
    }
}
