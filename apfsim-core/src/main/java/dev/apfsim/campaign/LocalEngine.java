package dev.apfsim.campaign;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * This machine's cores: the shard's missing rows run on a pool of threads and are appended to a {@link RowFile} in
 * index order as they finish (a bounded window of runs ahead keeps memory flat for any campaign size), so the file
 * an uninterrupted run writes and the file a killed-and-resumed run writes are the same, byte for byte.
 */
public final class LocalEngine implements CampaignEngine {
    @Override
    public String describe(Options o) {
        return o.jobs() + (o.jobs() == 1 ? " thread" : " threads");
    }

    @Override
    public Result run(Campaign c, String target, Options o, CampaignListener listener) throws Exception {
        Path path = Path.of(target);
        RowFormat format = o.format() != null ? o.format() : RowFormat.require(path.getFileName().toString());
        try (RowFile file = RowFile.open(path, format, c, o.force())) {
            long total = o.shard().count(c.size());
            long kept = file.kept(o.shard());
            List<String> notes = new ArrayList<>();
            if (file.droppedTornLine()) {
                notes.add(path + ": dropped an unfinished last row (the run was killed); it is redone");
            }
            if (kept > 0) {
                notes.add(path + ": kept " + kept + " of " + total + " rows from an earlier run");
            }
            long ran = runMissing(c, file, o, total, kept, listener);
            file.finish();
            return new Result(total, kept, ran, file.violations(), file.lowestViolation(), List.copyOf(notes),
                    sink -> sorted(path, format, sink));
        }
    }

    private static void sorted(Path path, RowFormat format, java.util.function.Consumer<Row> sink) {
        List<Row> rows = new ArrayList<>();
        RowFiles.scan(path, format, rows::add);
        rows.sort(Comparator.comparingLong(Row::index));
        rows.forEach(sink);
    }

    private static long runMissing(Campaign c, RowFile file, Options o, long total, long kept,
                                   CampaignListener listener) throws Exception {
        int jobs = Math.max(1, o.jobs());
        ExecutorService pool = Executors.newFixedThreadPool(jobs, r -> {
            Thread t = new Thread(r, "apfsim-campaign");
            t.setDaemon(true);
            return t;
        });
        long done = kept;
        long ran = 0;
        listener.progress(done, total, file.violations());
        try {
            Deque<Future<Row>> window = new ArrayDeque<>();
            int ahead = jobs * 4;
            long next = o.shard().first(0);
            while (next < c.size() || !window.isEmpty()) {
                while (window.size() < ahead && next < c.size()) {
                    long index = next;
                    next += o.shard().n();
                    if (!file.has(index)) {
                        window.add(pool.submit(() -> c.run(index)));
                    }
                }
                if (window.isEmpty()) {
                    continue;
                }
                Row row;
                try {
                    row = window.removeFirst().get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Exception ex) {
                        throw ex;
                    }
                    throw e;
                }
                file.append(row);
                ran++;
                done++;
                listener.progress(done, total, file.violations());
            }
        } finally {
            pool.shutdownNow();
        }
        return ran;
    }
}
