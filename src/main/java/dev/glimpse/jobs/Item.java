package dev.glimpse.jobs;

/**
 * One unit of a job: a batch input line or an image.
 *
 * @param input  locator of the work: "offset:length" in the batch input file, or the image path relative to the source
 * @param state  {@link JobStore#PENDING}, {@link JobStore#COMPLETED} or {@link JobStore#FAILED}
 * @param result the output (or error) JSON line once finished
 */
public record Item(String jobId, int idx, String input, int state, String result, int tokens) {}
