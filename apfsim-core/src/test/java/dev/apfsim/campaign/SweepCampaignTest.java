package dev.apfsim.campaign;

import dev.apfsim.sim.Machine;
import dev.apfsim.sim.RunResult;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class SweepCampaignTest {
    @Test
    void rowsAreAddressedByGridPointAndSeed() {
        SweepCampaign c = CampaignFixture.sweep(3);
        assertEquals(12, c.size());
        Table t = c.table();
        Row r = c.run(7); // grid point 2 (apf=off nvme), its second seed
        assertEquals(7L, r.index());
        assertEquals(2L, r.get(t, "grid"));
        assertEquals("off", r.get(t, "apf"));
        assertEquals("nvme", r.get(t, "host.swap.latency"));
        assertEquals(c.rowScenario(6).seed() + 1, r.get(t, "seed"));
        assertEquals(c.settingsHash(7), r.get(t, Table.SETTINGS_HASH));
        // the row's run is the scenario's own run: the YAML a point travels as loses nothing
        RunResult direct = new Machine(c.rowScenario(7)).run();
        assertEquals(direct.fingerprint(), r.get(t, "fingerprint"));
        assertNull(r.result().get("wall_ns"));
        Set<String> hashes = new HashSet<>();
        for (long i = 0; i < c.size(); i++) {
            hashes.add(c.settingsHash(i));
        }
        assertEquals(12, hashes.size(), "every row has its own settings");
    }

    @Test
    void aSerializedCampaignComputesTheSameRows() throws Exception {
        SweepCampaign c = CampaignFixture.sweep(2);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(bytes)) {
            o.writeObject(c);
        }
        Campaign back;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (Campaign) in.readObject();
        }
        for (long i : List.of(0L, 5L)) {
            assertEquals(c.run(i).values(), back.run(i).values(), "row " + i);
            assertEquals(c.settingsHash(i), back.settingsHash(i));
        }
        assertNotEquals(c.run(0).values(), c.run(1).values());
    }

    @Test
    void typesFollowFromColumnNames() {
        Table t = CampaignFixture.sweep(1).table();
        assertEquals(t, Table.of(t.names()), "a CSV header gives the same table back");
        assertEquals(Column.Type.STRING, t.columns().get(t.indexOf("host.swap.latency")).type());
        assertEquals(Column.Type.DOUBLE, t.columns().get(t.indexOf("ops_per_second.cpu-bound")).type());
        assertEquals(Column.Type.LONG, t.columns().get(t.indexOf("seed")).type());
        assertEquals(List.of("apf", "host.swap.latency"), t.params());
        assertEquals("a b", t.coerce(t.indexOf("label"), "a\nb"), "a row stays on one line");
        assertNull(t.coerce(t.indexOf("label"), ""), "empty and missing are one thing, as in CSV");
    }
}
