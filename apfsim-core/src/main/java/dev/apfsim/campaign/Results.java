package dev.apfsim.campaign;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apfsim.sim.ResultJson;
import dev.apfsim.sim.RunResult;

/** What a campaign keeps of a run's result. */
final class Results {
    private Results() {
    }

    /**
     * The result as JSON without its wall-clock fields: a row must be the same whichever machine computed it and
     * however loaded that machine was (the simulated figures are; the host's speed is not).
     */
    static ObjectNode json(RunResult r) {
        ObjectNode n = ResultJson.mapper().valueToTree(r);
        n.remove("wall_ns");
        n.remove("events_per_wall_second");
        return n;
    }

    static long totalOps(RunResult r) {
        long n = 0;
        for (RunResult.TaskResult t : r.tasks()) {
            n += t.ops();
        }
        return n;
    }
}
