package dev.apfsim.campaign;

import dev.apfsim.scenario.Scenarios;

import java.util.List;

/** A check campaign over seed 001's old variant (its violation shows within a few dozen runs). */
final class CheckCampaignFixture {
    private CheckCampaignFixture() {
    }

    static CheckCampaign campaign() {
        List<String> old = Scenarios.variants("seed-001-page-ready").get("old");
        return new CheckCampaign(Scenarios.resolve("seed-001-page-ready", old), 1, 40);
    }
}
