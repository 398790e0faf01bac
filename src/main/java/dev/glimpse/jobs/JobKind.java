package dev.glimpse.jobs;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/** What a kind of job does with its inputs; {@link JobRunner} owns scheduling, durability and the lifecycle. */
public interface JobKind {

    String kind();

    /**
     * validating: the item locators of a job, in output order (may take a while: lists a folder, scans a JSONL file).
     * Throws {@link dev.glimpse.error.GlimpseException} when the job cannot run at all; the job then fails with its message.
     */
    List<String> listInputs(Job job) throws Exception;

    /**
     * Runs one item. The future completes with the outcome (an item-level failure is an outcome, not an exception) or
     * exceptionally with a {@link dev.glimpse.error.GlimpseException} of status 429 when the engine is full: the runner
     * then retries the item later. {@code cancelled} turns true when the job is cancelled or deleted.
     */
    CompletableFuture<Outcome> process(Job job, Item item, BooleanSupplier cancelled);

    /** The error-file line of an item whose processing failed with an exception instead of an outcome. */
    String failure(Job job, Item item, dev.glimpse.error.GlimpseException error);

    /** finalizing: anything to do once every item is finished (the batch kind registers its output files). */
    default void finish(Job job) {}

    /**
     * The job is gone (deleted, or cancelled while its inputs were being listed): drop the working files listing them
     * left behind (the caption kind's unpacked zip). Must not throw.
     */
    default void discard(Job job) {}

    /**
     * @param result JSON line for the job's output (ok) or error file
     * @param tokens completion tokens spent
     */
    record Outcome(boolean ok, String result, int tokens) {
        /**
         * The item was cut short because the job was cancelled or the server is stopping (the engine ended it as
         * cancelled): not a result. It stays pending, so a resumed job runs it again; compared by identity.
         */
        public static final Outcome INTERRUPTED = new Outcome(false, null, 0);
    }
}
