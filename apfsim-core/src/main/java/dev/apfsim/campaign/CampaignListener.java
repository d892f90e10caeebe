package dev.apfsim.campaign;

/** Hears how a campaign advances: rows of the shard done (kept from before included) and violations so far. */
@FunctionalInterface
public interface CampaignListener {
    CampaignListener NONE = (done, total, violations) -> { };

    void progress(long done, long total, long violations);
}
