package dev.apfsim.campaign;

import dev.apfsim.scenario.Scenario;
import dev.apfsim.scenario.Scenarios;
import dev.apfsim.sim.ApfSwitch;

import java.util.ArrayList;
import java.util.List;

/** A small sweep for tests: async PF on and off x two swap devices, 100 ms of kvm-forum-2010. */
public final class CampaignFixture {
    private CampaignFixture() {
    }

    public static SweepCampaign sweep(int seeds) {
        List<SweepCampaign.Point> points = new ArrayList<>();
        for (ApfSwitch apf : List.of(ApfSwitch.ON, ApfSwitch.OFF)) {
            for (String dev : List.of("nvme", "hdd")) {
                Scenario s = apf.apply(Scenarios.resolve("kvm-forum-2010", List.of("host.swap.latency=" + dev)))
                        .withDuration(100_000_000L);
                points.add(SweepCampaign.Point.of("apf=" + apf.word() + " host.swap.latency=" + dev, List.of(dev), s));
            }
        }
        return new SweepCampaign("kvm-forum-2010", List.of("host.swap.latency"), points, seeds);
    }

    /** Every row of {@code c}, in index order. */
    public static List<Row> rows(Campaign c) {
        List<Row> rows = new ArrayList<>();
        for (long i = 0; i < c.size(); i++) {
            rows.add(c.run(i));
        }
        return rows;
    }
}
