package dev.apfsim.cli;

import dev.apfsim.campaign.CampaignException;
import dev.apfsim.campaign.Merge;
import dev.apfsim.campaign.RowIoException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code apfsim merge}: the row files of a campaign's shards into one table sorted by run index. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Merge the row files of a sweep's or a check's shards (--shard K/N) into one table sorted by "
                + "run index: the table one machine would have written.",
                "Inputs and output may be CSV, NDJSON or Parquet, mixed. A row in two files must be the same in both."})
final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", required = true,
            description = "The merged file: .csv, .ndjson or .parquet.")
    Path out;

    @Option(names = "--force", description = "Replace FILE if it exists.")
    boolean force;

    @Parameters(paramLabel = "INPUT", arity = "1..*", description = "The shards' row files.")
    List<Path> inputs;

    @Override
    public Integer call() {
        Merge.Summary s;
        try {
            s = Merge.merge(inputs, out, force);
        } catch (CampaignException e) {
            throw new Main.UserException(e.getMessage());
        } catch (RowIoException e) {
            throw new Main.TraceIoException(e);
        }
        PrintWriter o = spec.commandLine().getOut();
        o.printf("merged %d files: %,d rows (runs %d to %d%s%s), written to %s%n", inputs.size(), s.rows(), s.first(),
                s.last(), s.missing() == 0 ? ", none missing" : String.format(", %,d missing", s.missing()),
                s.duplicates() == 0 ? "" : String.format(", %,d duplicates dropped", s.duplicates()), out);
        o.flush();
        return 0;
    }
}
