package dev.apfsim.campaign;

/**
 * A campaign cannot go on for a reason the user can fix: an output file made by another campaign, a malformed row,
 * a shard file written by someone else. The message is one line naming the file (and line) and what to do.
 */
public class CampaignException extends RuntimeException {
    public CampaignException(String message) {
        super(message);
    }

    public CampaignException(String message, Throwable cause) {
        super(message, cause);
    }
}
