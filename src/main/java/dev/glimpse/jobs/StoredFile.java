package dev.glimpse.jobs;

/**
 * A file of the Files API. Uploads keep their bytes on disk under the data directory; output and error files of a job
 * are rendered from its items when read (so they exist, and grow, while the job runs, and cannot disagree with it).
 *
 * @param kind upload | output | errors
 */
public record StoredFile(String id, String purpose, String filename, long bytes, long createdAt, String jobId, String kind) {}
