package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.jobs.BatchKind;
import dev.glimpse.jobs.FileStore;
import dev.glimpse.jobs.Job;
import dev.glimpse.jobs.JobRunner;
import dev.glimpse.jobs.JobStore;
import dev.glimpse.jobs.StoredFile;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * OpenAI Batch API over {@code /v1/chat/completions}: create from an uploaded JSONL, poll, list, cancel. Output and error
 * files are registered when the batch is created and fill as lines finish; their ids appear on the batch once it ends.
 */
@RestController
public class BatchesController {

    static final long WINDOW_SECONDS = 24 * 3600;

    private final JobStore store;
    private final JobRunner runner;
    private final ServedModel served;
    private final ObjectMapper json;
    private final JobEndpoints batches;

    public BatchesController(JobStore store, JobRunner runner, ServedModel served, ObjectMapper json) {
        this.store = store;
        this.runner = runner;
        this.served = served;
        this.json = json;
        this.batches = new JobEndpoints(store, runner, json, Job.BATCH, "batch_not_found", "batch_id", "batch");
    }

    @PostMapping(path = "/v1/batches", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ObjectNode create(@RequestBody JsonNode body) {
        if (body == null || !body.isObject()) throw GlimpseException.invalid("invalid_request", null, "the request body must be a JSON object");
        String fileId = text(body, "input_file_id");
        String endpoint = text(body, "endpoint");
        String window = body.path("completion_window").asText("24h");
        if (!endpoint.equals(BatchKind.ENDPOINT)) {
            throw GlimpseException.invalid("invalid_value", "endpoint", "endpoint '" + endpoint + "' is not supported; valid: ["
                    + BatchKind.ENDPOINT + "]");
        }
        if (!window.equals("24h")) {
            throw GlimpseException.invalid("invalid_value", "completion_window", "completion_window must be '24h'");
        }
        JsonNode metadata = body.get("metadata");
        if (metadata != null && !metadata.isNull()) checkMetadata(metadata);
        StoredFile input = store.file(fileId).orElseThrow(() ->
                GlimpseException.notFound("file_not_found", "input_file_id", "no file with id '" + fileId + "'"));
        if (!input.purpose().equals("batch") || !input.kind().equals("upload")) {
            throw GlimpseException.invalid("invalid_value", "input_file_id", "file " + fileId + " has purpose '" + input.purpose()
                    + "'; upload the requests with purpose 'batch'");
        }
        String id = FileStore.newId("batch_");
        long now = System.currentTimeMillis() / 1000;
        String suffix = id.substring("batch_".length());
        ObjectNode spec = json.createObjectNode().put("input_file_id", fileId).put("endpoint", endpoint)
                .put("completion_window", window).put("output_file_id", "file-out" + suffix).put("error_file_id", "file-err" + suffix);
        if (metadata != null && !metadata.isNull()) spec.set("metadata", metadata);
        store.insertJob(Job.create(id, Job.BATCH, served.card().name(), spec.toString(), now));
        store.insertFile(new StoredFile("file-out" + suffix, "batch_output", id + "_output.jsonl", 0, now, id, "output"));
        store.insertFile(new StoredFile("file-err" + suffix, "batch_output", id + "_error.jsonl", 0, now, id, "errors"));
        runner.wake();
        return batchJson(store.job(id).orElseThrow());
    }

    @GetMapping("/v1/batches/{id}")
    public ObjectNode get(@PathVariable String id) {
        return batchJson(batches.find(id));
    }

    @GetMapping("/v1/batches")
    public ObjectNode list(@RequestParam(value = "after", required = false) String after,
                           @RequestParam(value = "limit", defaultValue = "20") int limit) {
        return batches.list(after, limit, this::batchJson);
    }

    @PostMapping("/v1/batches/{id}/cancel")
    public ObjectNode cancel(@PathVariable String id) {
        return batchJson(batches.cancel(id));
    }

    private ObjectNode batchJson(Job j) {
        JsonNode spec;
        try {
            spec = json.readTree(j.spec());
        } catch (Exception e) {
            throw GlimpseException.internal("batch " + j.id() + " has a corrupt spec", e);
        }
        ObjectNode b = json.createObjectNode().put("id", j.id()).put("object", "batch").put("endpoint", spec.path("endpoint").asText())
                .put("model", j.model());
        if (j.status().equals("failed") && j.error() != null) {
            ObjectNode errors = b.putObject("errors").put("object", "list");
            errors.putArray("data").addObject().put("code", "invalid_input").put("message", j.error()).putNull("param").putNull("line");
        } else {
            b.putNull("errors");
        }
        b.put("input_file_id", spec.path("input_file_id").asText()).put("completion_window", spec.path("completion_window").asText())
                .put("status", j.status());
        boolean ended = j.finished();
        putOrNull(b, "output_file_id", ended && j.completed() > 0 ? spec.path("output_file_id").asText() : null);
        putOrNull(b, "error_file_id", ended && j.failed() > 0 ? spec.path("error_file_id").asText() : null);
        b.put("created_at", j.createdAt());
        putOrNull(b, "in_progress_at", j.startedAt());
        b.put("expires_at", j.createdAt() + WINDOW_SECONDS);
        putOrNull(b, "finalizing_at", j.finalizingAt());
        putOrNull(b, "completed_at", j.status().equals("completed") ? j.finishedAt() : null);
        putOrNull(b, "failed_at", j.status().equals("failed") ? j.finishedAt() : null);
        b.putNull("expired_at");
        putOrNull(b, "cancelling_at", j.cancellingAt());
        putOrNull(b, "cancelled_at", j.status().equals("cancelled") ? j.finishedAt() : null);
        b.putObject("request_counts").put("total", j.total()).put("completed", j.completed()).put("failed", j.failed());
        if (spec.has("metadata")) b.set("metadata", spec.get("metadata"));
        else b.putNull("metadata");
        return b;
    }

    private static void putOrNull(ObjectNode o, String field, Object v) {
        if (v == null) o.putNull(field);
        else if (v instanceof Long l) o.put(field, l);
        else o.put(field, v.toString());
    }

    private static String text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw GlimpseException.invalid("missing_field", field, "'" + field + "' is required");
        }
        return v.asText();
    }

    /** OpenAI's metadata rules: at most 16 pairs, string keys up to 64 characters and string values up to 512. */
    static void checkMetadata(JsonNode metadata) {
        String rule = "metadata must be an object of at most 16 pairs of strings (keys up to 64 characters, values up to 512)";
        if (!metadata.isObject() || metadata.size() > 16) throw GlimpseException.invalid("invalid_value", "metadata", rule);
        metadata.fields().forEachRemaining(e -> {
            if (e.getKey().length() > 64 || !e.getValue().isTextual() || e.getValue().asText().length() > 512) {
                throw GlimpseException.invalid("invalid_value", "metadata." + e.getKey().substring(0, Math.min(64, e.getKey().length())), rule);
            }
        });
    }
}
