package dev.apfsim.campaign;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowFileTest {
    static final SweepCampaign SWEEP = CampaignFixture.sweep(2);
    static final List<Row> ROWS = CampaignFixture.rows(SWEEP);

    @TempDir
    Path dir;

    @Test
    void oneWriterAtATimeAndARefusedFileIsReleasedUntouched() throws Exception {
        Path p = dir.resolve("rows.csv");
        try (RowFile f = RowFile.open(p, SWEEP, false)) {
            f.append(ROWS.get(0));
            CampaignException e = assertThrows(CampaignException.class, () -> RowFile.open(p, SWEEP, false));
            assertTrue(e.getMessage().contains("being written by another"), e.getMessage());
            f.finish();
        }
        String text = Files.readString(p);
        SweepCampaign other = CampaignFixture.sweep(3); // 3 seeds a point: row 2 is grid point 0's third seed
        try (RowFile f = RowFile.open(p, SWEEP, false)) {
            f.append(ROWS.get(1));
            f.append(ROWS.get(2));
            f.finish();
        }
        String two = Files.readString(p);
        assertTrue(two.startsWith(text));
        CampaignException e = assertThrows(CampaignException.class, () -> RowFile.open(p, other, false));
        assertTrue(e.getMessage().contains("row 2 was computed from other settings"), e.getMessage());
        assertEquals(two, Files.readString(p), "refused: untouched");
        try (RowFile f = RowFile.open(p, SWEEP, false)) { // and not left locked
            assertEquals(3, f.kept());
            assertTrue(f.has(2) && !f.has(3));
            f.finish();
        }
    }

    @Test
    void parquetGoesThroughAJournalAndResumesFromTheFinishedFile() throws Exception {
        Path p = dir.resolve("rows.parquet");
        Path journal = dir.resolve("rows.parquet.partial.csv");
        try (RowFile f = RowFile.open(p, SWEEP, false)) {
            for (int i = 3; i >= 0; i--) { // out of order: the Parquet file is sorted anyway
                f.append(ROWS.get(i));
            }
            assertTrue(Files.exists(journal) && !Files.exists(p));
            f.finish();
        }
        assertFalse(Files.exists(journal));
        assertEquals(ROWS.subList(0, 4).stream().map(Row::columnsOnly).toList(), RowFiles.readAll(p));
        try (RowFile f = RowFile.open(p, SWEEP, false)) {
            assertEquals(4, f.kept());
            for (int i = 4; i < ROWS.size(); i++) {
                f.append(ROWS.get(i));
            }
            f.finish();
        }
        assertEquals(ROWS.stream().map(Row::columnsOnly).toList(), RowFiles.readAll(p));
        CampaignException e = assertThrows(CampaignException.class,
                () -> RowFile.open(p, CheckCampaignFixture.campaign(), false));
        assertTrue(e.getMessage().contains("other columns"), e.getMessage());
        assertFalse(Files.exists(journal), "a refused Parquet file leaves no journal behind");
    }
}
