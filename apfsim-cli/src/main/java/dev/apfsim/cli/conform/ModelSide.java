package dev.apfsim.cli.conform;

import dev.apfsim.realkvm.events.ApfTrace;
import dev.apfsim.realkvm.events.Normaliser;
import dev.apfsim.realkvm.events.RunEnd;
import dev.apfsim.scenario.Scenario;
import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import dev.apfsim.trace.FtraceFormat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's side of a comparison: the scenario run in apfsim-core with its trace-cmd text kept in memory
 * (the same lines {@code apfsim run --trace x.txt} writes), then normalised exactly as the kernel's lines are.
 */
public record ModelSide(List<String> lines, RunEnd end, RunResult result) {

    public static ModelSide run(Scenario s) {
        Machine m = new Machine(s);
        List<String> lines = new ArrayList<>();
        m.attach(e -> lines.add(FtraceFormat.line(e, m.hostCpuOf(e.vcpu()))));
        RunResult r = m.run();
        return new ModelSide(List.copyOf(lines), end(r), r);
    }

    public ApfTrace trace(int pageReadyVector) {
        return ApfTrace.fromFtrace("model", lines, Normaliser.Options.model(pageReadyVector), end);
    }

    public void writeTrace(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        out.add("# apfsim model run of " + result.scenario() + " (seed " + result.seed() + "); end: " + end);
        out.addAll(lines);
        Files.write(file, out);
    }

    /**
     * The model's outcome in the terms of a real run: every task done is "finished"; tasks still going at the
     * scenario's duration, or the livelock detector stopping an endless retry loop, is "still running" (the real
     * run of the same loop is stopped by its time limit); a stopped VM is KVM_RUN's errno.
     */
    static RunEnd end(RunResult r) {
        RunResult.OutcomeView o = r.outcome();
        return switch (o.kind()) {
            case "ok" -> r.tasks().stream().allMatch(t -> "done".equals(t.state()))
                    ? RunEnd.of(RunEnd.Kind.FINISHED)
                    : new RunEnd(RunEnd.Kind.STILL_RUNNING, "at the end of the simulated run");
            case "livelock_suspected" -> new RunEnd(RunEnd.Kind.STILL_RUNNING, "livelock detector after "
                    + o.retries() + " retries");
            case "vm_stopped" -> o.errno() != null && o.errno() == 14 ? RunEnd.of(RunEnd.Kind.EFAULT)
                    : new RunEnd(RunEnd.Kind.RUN_ERROR, o.message());
            case "guest_panic" -> new RunEnd(RunEnd.Kind.GUEST_PANIC, o.message());
            default -> new RunEnd(RunEnd.Kind.INTERNAL_ERROR, o.kind() + ": " + o.message());
        };
    }
}
