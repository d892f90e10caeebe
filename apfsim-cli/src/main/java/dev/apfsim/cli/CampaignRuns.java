package dev.apfsim.cli;

import dev.apfsim.campaign.Campaign;
import dev.apfsim.campaign.CampaignEngine;
import dev.apfsim.campaign.CampaignException;
import dev.apfsim.campaign.CheckCampaign;
import dev.apfsim.campaign.RowIoException;
import dev.apfsim.campaign.Shard;
import dev.apfsim.campaign.SweepCampaign;
import dev.apfsim.explore.Explorer;
import dev.apfsim.scenario.Scenario;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code sweep} and {@code check --rows} share: a campaign run by an engine with progress on stderr, its notes
 * (rows kept, a torn row dropped) said in one line each, and its failures mapped to the CLI's exit statuses (bad
 * input 2, a file that cannot be written 74).
 */
final class CampaignRuns {
    private CampaignRuns() {
    }

    /** A sweep over the compare-style grid: one row per grid point and seed. */
    static SweepCampaign sweep(List<CompareCommand.Variant> grid, List<CompareCommand.Vary> vary, int seeds) {
        List<String> paths = vary.stream().map(CompareCommand.Vary::path).toList();
        List<SweepCampaign.Point> points = new ArrayList<>();
        for (CompareCommand.Variant v : grid) {
            Map<String, String> set = new LinkedHashMap<>();
            for (String s : v.sets()) {
                int eq = s.indexOf('=');
                set.put(s.substring(0, eq), s.substring(eq + 1));
            }
            List<String> values = paths.stream().map(p -> set.getOrDefault(p, "")).toList();
            points.add(SweepCampaign.Point.of(v.label(), values, v.scenario()));
        }
        return new SweepCampaign(grid.getFirst().scenario().name(), paths, points, seeds);
    }

    /** Runs {@code c} into {@code target}; notes go to {@code err}, failures become one-line CLI errors. */
    static CampaignEngine.Result run(CampaignEngine engine, Campaign c, String target, CampaignEngine.Options o,
                                     boolean quiet, PrintWriter err) throws Exception {
        String task = c.kind() + " " + c.scenario() + (o.shard().isAll() ? "" : " [" + o.shard() + "]");
        CampaignEngine.Result r;
        try (CampaignProgress p = CampaignProgress.of(task, quiet)) {
            r = engine.run(c, target, o, p);
        } catch (CampaignException e) {
            throw new Main.UserException(e.getMessage());
        } catch (RowIoException e) {
            throw new Main.TraceIoException(e);
        }
        for (String note : r.notes()) {
            err.println(c.kind() + ": " + note);
        }
        err.flush();
        return r;
    }

    /**
     * {@code check --rows}: every run index of the shard as a row, then the lowest violating index in the file
     * shrunk as {@code check} shrinks its first violation.
     */
    static Explorer.Report check(CampaignEngine engine, Scenario base, long seed, int runs, String target,
                                 CampaignEngine.Options o, int shrinkBudget, boolean quiet, PrintWriter err)
            throws Exception {
        long start = System.nanoTime();
        CheckCampaign c = new CheckCampaign(base, seed, runs);
        CampaignEngine.Result r = run(engine, c, target, o, quiet, err);
        Explorer.Finding f = r.lowestViolation() < 0 ? null
                : c.finding(r.lowestViolation(), shrinkBudget, System.nanoTime() - start);
        return new Explorer.Report((int) r.total(), f, Map.of(), System.nanoTime() - start);
    }

    /** {@code --shard K/N}. */
    static final class ShardConverter implements ITypeConverter<Shard> {
        @Override
        public Shard convert(String value) {
            try {
                return Shard.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
