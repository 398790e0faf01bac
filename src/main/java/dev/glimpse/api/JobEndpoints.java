package dev.glimpse.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.jobs.Job;
import dev.glimpse.jobs.JobRunner;
import dev.glimpse.jobs.JobStore;

import java.util.function.Function;

/**
 * What the batch and caption-job APIs share for one kind of job: lookup by id (404 naming the kind), the OpenAI-style
 * cursor page ({@code after}, {@code limit} 1..100, {@code first_id}/{@code last_id}/{@code has_more}) and cancel.
 */
final class JobEndpoints {

    static final int MAX_LIMIT = 100;

    private final JobStore store;
    private final JobRunner runner;
    private final ObjectMapper json;
    private final String kind;
    private final String notFoundCode;
    private final String idParam;
    private final String noun;

    /**
     * @param kind         {@link Job#kind()} served here
     * @param notFoundCode error code of an unknown id, e.g. batch_not_found
     * @param idParam      error param of an unknown id, e.g. batch_id
     * @param noun         the kind in messages, e.g. "batch"
     */
    JobEndpoints(JobStore store, JobRunner runner, ObjectMapper json, String kind, String notFoundCode, String idParam,
                 String noun) {
        this.store = store;
        this.runner = runner;
        this.json = json;
        this.kind = kind;
        this.notFoundCode = notFoundCode;
        this.idParam = idParam;
        this.noun = noun;
    }

    /** The job, or 404 when no job of this kind has the id. */
    Job find(String id) {
        return store.job(id).filter(j -> j.kind().equals(kind))
                .orElseThrow(() -> GlimpseException.notFound(notFoundCode, idParam, "no " + noun + " with id '" + id + "'"));
    }

    /** Asks the runner to stop the job (its finished work is kept) and answers the job as it is now. */
    Job cancel(String id) {
        find(id);
        Job j = store.requestCancel(id, System.currentTimeMillis() / 1000).orElseThrow();
        runner.wake();
        return j;
    }

    /** One page of jobs of this kind, newest first, after the cursor. */
    ObjectNode list(String after, int limit, Function<Job, ObjectNode> render) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw GlimpseException.invalid("invalid_value", "limit", "limit must be in 1.." + MAX_LIMIT);
        }
        if (after != null && store.job(after).isEmpty()) {
            // the store would answer an empty page, which reads as "the list ends here"
            throw GlimpseException.invalid("invalid_value", "after", "no job with id '" + after + "' to page after");
        }
        return CursorPage.render(json, store.jobs(kind, after, limit + 1), limit, Job::id, render);
    }
}
