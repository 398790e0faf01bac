package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.GlimpseProperties;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.jobs.CaptionKind;
import dev.glimpse.jobs.FileStore;
import dev.glimpse.jobs.Job;
import dev.glimpse.jobs.JobRunner;
import dev.glimpse.jobs.JobStore;
import dev.glimpse.jobs.StoredFile;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Caption jobs: caption every image of a server folder (under an allowed root) or of an uploaded zip. Progress, results
 * (JSONL, downloadable while the job runs), cancel, delete. The work itself is {@link CaptionKind} on the job runner.
 */
@RestController
public class CaptionJobsController {

    static final int MAX_PROMPT_CHARS = 4000;

    private final JobStore store;
    private final JobRunner runner;
    private final CaptionKind kind;
    private final FilesController files;
    private final FileStore fileStore;
    private final ServedModel served;
    private final GlimpseProperties.Jobs config;
    private final ObjectMapper json;
    private final JobEndpoints jobs;

    public CaptionJobsController(JobStore store, JobRunner runner, CaptionKind kind, FilesController files, FileStore fileStore,
                                 ServedModel served, GlimpseProperties props, ObjectMapper json) {
        this.fileStore = fileStore;
        this.store = store;
        this.runner = runner;
        this.kind = kind;
        this.files = files;
        this.served = served;
        this.config = props.jobs();
        this.json = json;
        this.jobs = new JobEndpoints(store, runner, json, Job.CAPTION, "job_not_found", "job_id", "caption job");
    }

    @PostMapping(path = "/v1/caption-jobs", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ObjectNode create(@RequestBody JsonNode body) {
        if (body == null || !body.isObject()) throw GlimpseException.invalid("invalid_request", null, "the request body must be a JSON object");
        JsonNode src = body.get("source");
        if (src == null || !src.isObject() || src.has("folder") == src.has("file_id")) {
            throw GlimpseException.invalid("invalid_value", "source",
                    "'source' must be {\"folder\": \"<path under an allowed root>\"} or {\"file_id\": \"<uploaded zip>\"}");
        }
        ObjectNode source = json.createObjectNode();
        if (src.has("folder")) {
            source.put("type", "folder").put("path", allowedFolder(src.path("folder").asText("")).toString());
        } else {
            String fileId = src.path("file_id").asText("");
            StoredFile f = files.find(fileId);
            checkZip(f);
            source.put("type", "zip").put("file_id", f.id());
        }
        return insert(source, fields(body.get("model"), body.get("prompt"), body.get("max_tokens")));
    }

    /** Multipart variant: a zip in the 'file' part, the other fields as form fields. */
    @PostMapping(path = "/v1/caption-jobs", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public ObjectNode createFromUpload(@RequestParam(value = "file", required = false) MultipartFile file,
                                       @RequestParam(value = "model", required = false) String model,
                                       @RequestParam(value = "prompt", required = false) String prompt,
                                       @RequestParam(value = "max_tokens", required = false) String maxTokens) throws IOException {
        if (file == null || file.isEmpty()) throw GlimpseException.invalid("missing_field", "file", "a non-empty zip 'file' part is required");
        try (InputStream in = file.getInputStream()) {
            if (!CaptionKind.isZip(in)) throw GlimpseException.invalid("invalid_zip", "file", "the upload is not a zip archive");
        }
        JsonNode mt = null;
        if (maxTokens != null) {
            try {
                mt = json.getNodeFactory().numberNode(Integer.parseInt(maxTokens.trim()));
            } catch (NumberFormatException e) {
                throw GlimpseException.invalid("invalid_type", "max_tokens", "max_tokens must be an integer");
            }
        }
        // every field is checked before the upload is stored, so a rejected request leaves no file behind
        Fields fields = fields(model == null ? null : json.getNodeFactory().textNode(model),
                prompt == null ? null : json.getNodeFactory().textNode(prompt), mt);
        StoredFile f = files.save(file, "caption_source");
        return insert(json.createObjectNode().put("type", "zip").put("file_id", f.id()), fields);
    }

    /** The job's settings after validation: the prompt and max_tokens it will caption with. */
    private record Fields(String prompt, int maxTokens) {}

    private Fields fields(JsonNode model, JsonNode prompt, JsonNode maxTokens) {
        String name = served.card().name();
        if (model != null && !model.isNull() && !model.asText().equals(name)) {
            throw GlimpseException.notFound("model_not_found", "model", "model '" + model.asText() + "' does not exist; available: [" + name + "]");
        }
        String p = config.captionPrompt();
        if (prompt != null && !prompt.isNull()) {
            if (!prompt.isTextual() || prompt.asText().isBlank() || prompt.asText().length() > MAX_PROMPT_CHARS) {
                throw GlimpseException.invalid("invalid_value", "prompt", "prompt must be a non-empty string of at most "
                        + MAX_PROMPT_CHARS + " characters");
            }
            p = prompt.asText();
        }
        int mt = config.captionMaxTokens();
        if (maxTokens != null && !maxTokens.isNull()) {
            if (!maxTokens.isIntegralNumber() || !maxTokens.canConvertToInt()
                    || maxTokens.asInt() < 1 || maxTokens.asInt() > served.card().contextLength()) {
                throw GlimpseException.invalid("invalid_value", "max_tokens", "max_tokens must be an integer in 1.."
                        + served.card().contextLength());
            }
            mt = maxTokens.asInt();
        }
        return new Fields(p, mt);
    }

    private ObjectNode insert(ObjectNode source, Fields fields) {
        String name = served.card().name();
        ObjectNode spec = json.createObjectNode();
        spec.set("source", source);
        spec.put("prompt", fields.prompt()).put("max_tokens", fields.maxTokens());
        String id = FileStore.newId("capjob_");
        store.insertJob(Job.create(id, Job.CAPTION, name, spec.toString(), System.currentTimeMillis() / 1000));
        runner.wake();
        return jobJson(store.job(id).orElseThrow());
    }

    @GetMapping("/v1/caption-jobs/{id}")
    public ObjectNode get(@PathVariable String id) {
        return jobJson(jobs.find(id));
    }

    @GetMapping("/v1/caption-jobs")
    public ObjectNode list(@RequestParam(value = "after", required = false) String after,
                           @RequestParam(value = "limit", defaultValue = "20") int limit) {
        return jobs.list(after, limit, this::jobJson);
    }

    /**
     * Finished images so far as JSONL, in source order: {"path", "caption", "tokens", "error"}. {@code state}: all (default),
     * completed or failed.
     */
    @GetMapping("/v1/caption-jobs/{id}/results")
    public ResponseEntity<StreamingResponseBody> results(@PathVariable String id,
                                                         @RequestParam(value = "state", defaultValue = "all") String state) {
        jobs.find(id);
        int s = switch (state) {
            case "all" -> -1;
            case "completed" -> JobStore.COMPLETED;
            case "failed" -> JobStore.FAILED;
            default -> throw GlimpseException.invalid("invalid_value", "state", "state must be one of [all, completed, failed]");
        };
        StreamingResponseBody body = out -> store.writeResults(id, s, out);
        return ResponseEntity.ok().contentType(MediaType.parseMediaType("application/x-ndjson")).body(body);
    }

    @PostMapping("/v1/caption-jobs/{id}/cancel")
    public ObjectNode cancel(@PathVariable String id) {
        return jobJson(jobs.cancel(id));
    }

    /** Deletes the job, its results and its unpacked zip (a running job stops; a folder source is never touched). */
    @DeleteMapping("/v1/caption-jobs/{id}")
    public ObjectNode delete(@PathVariable String id) {
        Job job = jobs.find(id);
        store.deleteJob(id);
        runner.wake();
        // a runner still unpacking the zip may be writing into the folder: it removes the folder itself when it finds
        // the job gone (JobKind.discard), so a failure here is not the client's problem
        kind.discard(job);
        return json.createObjectNode().put("id", id).put("object", "caption_job").put("deleted", true);
    }

    /**
     * The real path of a requested folder, which must lie under an allowed root. Checked twice: on the normalised path
     * (so nothing about folders outside the roots is revealed) and on the real path (so a symlink cannot lead out).
     */
    private Path allowedFolder(String requested) {
        List<Path> roots = config.captionRoots();
        if (roots.isEmpty()) {
            throw GlimpseException.invalid("folder_sources_disabled", "source.folder",
                    "this server reads no folders; set glimpse.jobs.caption-roots, or upload a zip");
        }
        if (requested.isBlank()) throw GlimpseException.invalid("invalid_value", "source.folder", "source.folder must be a path");
        Path p = Path.of(requested);
        Path abs = (p.isAbsolute() ? p : roots.get(0).toAbsolutePath().resolve(p)).normalize();
        if (roots.stream().noneMatch(r -> abs.startsWith(r.toAbsolutePath().normalize()))) {
            throw GlimpseException.invalid("folder_not_allowed", "source.folder", "folder " + requested
                    + " is outside the allowed roots " + roots);
        }
        Path real;
        try {
            real = abs.toRealPath();
        } catch (IOException e) {
            throw GlimpseException.invalid("folder_not_found", "source.folder", "folder " + requested + " does not exist");
        }
        List<Path> realRoots = new ArrayList<>();
        for (Path r : roots) {
            try {
                realRoots.add(r.toRealPath());
            } catch (IOException ignored) {
                // a configured root that does not exist allows nothing
            }
        }
        if (realRoots.stream().noneMatch(real::startsWith)) {
            throw GlimpseException.invalid("folder_not_allowed", "source.folder", "folder " + requested
                    + " resolves outside the allowed roots " + roots);
        }
        if (!Files.isDirectory(real)) {
            throw GlimpseException.invalid("not_a_folder", "source.folder", requested + " is not a folder");
        }
        return real;
    }

    private void checkZip(StoredFile f) {
        if (!f.kind().equals("upload")) throw GlimpseException.invalid("invalid_zip", "source.file_id", "file " + f.id() + " is not an upload");
        try (InputStream in = Files.newInputStream(fileStore.path(f.id()))) {
            if (!CaptionKind.isZip(in)) throw GlimpseException.invalid("invalid_zip", "source.file_id", "file " + f.id() + " is not a zip archive");
        } catch (IOException e) {
            throw GlimpseException.invalid("invalid_zip", "source.file_id", "file " + f.id() + " cannot be read");
        }
    }

    private ObjectNode jobJson(Job j) {
        JsonNode spec;
        try {
            spec = json.readTree(j.spec());
        } catch (Exception e) {
            throw GlimpseException.internal("job " + j.id() + " has a corrupt spec", e);
        }
        ObjectNode o = json.createObjectNode().put("id", j.id()).put("object", "caption_job").put("status", j.status())
                .put("model", j.model()).put("prompt", spec.path("prompt").asText()).put("max_tokens", spec.path("max_tokens").asInt());
        o.set("source", spec.path("source"));
        o.put("created_at", j.createdAt());
        if (j.startedAt() == null) o.putNull("started_at");
        else o.put("started_at", j.startedAt());
        if (j.finishedAt() == null) o.putNull("finished_at");
        else o.put("finished_at", j.finishedAt());
        int finished = j.completed() + j.failed();
        ObjectNode progress = o.putObject("progress").put("total", j.total()).put("completed", j.completed())
                .put("failed", j.failed()).put("done", finished);
        // Rate over the job's own running time (summed across restarts); ETA from the rate and what is left.
        if (j.runSeconds() > 0 && finished > 0) {
            double rate = finished / j.runSeconds();
            progress.put("images_per_second", Math.round(rate * 100) / 100.0);
            if (j.finished()) progress.put("eta_seconds", 0);
            else progress.put("eta_seconds", Math.round((j.total() - finished) / rate));
        } else {
            progress.putNull("images_per_second");
            progress.putNull("eta_seconds");
        }
        o.put("results_url", "/v1/caption-jobs/" + j.id() + "/results");
        if (j.error() == null) o.putNull("error");
        else o.put("error", j.error());
        return o;
    }
}
