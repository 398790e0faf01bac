package dev.glimpse.jobs;

/**
 * A batch or caption job as stored. Times are epoch seconds (null: not reached). Status follows OpenAI's batch
 * lifecycle for both kinds: validating -> in_progress -> finalizing -> completed, or failed, or cancelling -> cancelled.
 *
 * @param spec       JSON the job was created with (kind-specific: input file, endpoint, folder, prompt...)
 * @param runSeconds wall seconds spent in progress, summed over server lifetimes
 */
public record Job(String id, String kind, String status, String model, String spec, int total, int completed, int failed,
                  long tokens, String error, long createdAt, Long startedAt, Long finalizingAt, Long finishedAt,
                  Long cancellingAt, double runSeconds) {

    public static final String BATCH = "batch";
    public static final String CAPTION = "caption";

    public boolean finished() {
        return status.equals("completed") || status.equals("failed") || status.equals("cancelled") || status.equals("expired");
    }

    public static Job create(String id, String kind, String model, String spec, long now) {
        return new Job(id, kind, "validating", model, spec, 0, 0, 0, 0, null, now, null, null, null, null, 0);
    }
}
