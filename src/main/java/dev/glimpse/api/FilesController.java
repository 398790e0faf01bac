package dev.glimpse.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.jobs.FileStore;
import dev.glimpse.jobs.JobStore;
import dev.glimpse.jobs.StoredFile;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.List;

/**
 * OpenAI Files API, for batch input files (purpose "batch") and zipped caption sources (purpose "caption_source").
 * Output and error files of batches are listed here too; their content is rendered from the batch's results.
 */
@RestController
public class FilesController {

    static final List<String> PURPOSES = List.of("batch", "caption_source");
    /** OpenAI's bound (and default) for one page of GET /v1/files. */
    static final int MAX_LIST_LIMIT = 10_000;

    private final JobStore store;
    private final FileStore files;
    private final ObjectMapper json;

    public FilesController(JobStore store, FileStore files, ObjectMapper json) {
        this.store = store;
        this.files = files;
        this.json = json;
    }

    @PostMapping(path = "/v1/files", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public ObjectNode upload(@RequestParam(value = "file", required = false) MultipartFile file,
                             @RequestParam(value = "purpose", required = false) String purpose) throws IOException {
        if (purpose == null || purpose.isBlank()) {
            throw GlimpseException.invalid("missing_field", "purpose", "'purpose' is required; valid: " + PURPOSES);
        }
        if (!PURPOSES.contains(purpose)) {
            throw GlimpseException.invalid("invalid_value", "purpose", "purpose '" + purpose + "' is not supported; valid: " + PURPOSES);
        }
        if (file == null || file.isEmpty()) throw GlimpseException.invalid("missing_field", "file", "a non-empty 'file' part is required");
        StoredFile f = save(file, purpose);
        return fileJson(f);
    }

    /** Stores an upload and registers it; shared with caption jobs created from a multipart zip. */
    StoredFile save(MultipartFile file, String purpose) throws IOException {
        String id = FileStore.newId("file-");
        long n;
        try (InputStream in = file.getInputStream()) {
            n = files.save(id, in, Long.MAX_VALUE);  // the multipart limits already bound the size
        }
        String name = file.getOriginalFilename() == null || file.getOriginalFilename().isBlank() ? "upload" : file.getOriginalFilename();
        StoredFile f = new StoredFile(id, purpose, name.length() > 500 ? name.substring(0, 500) : name, n,
                System.currentTimeMillis() / 1000, null, "upload");
        store.insertFile(f);
        return f;
    }

    /** OpenAI's cursor page: newest first by default, {@code after} a file id, {@code has_more} for the next page. */
    @GetMapping("/v1/files")
    public ObjectNode list(@RequestParam(value = "purpose", required = false) String purpose,
                           @RequestParam(value = "limit", defaultValue = "10000") int limit,
                           @RequestParam(value = "after", required = false) String after,
                           @RequestParam(value = "order", defaultValue = "desc") String order) {
        if (limit < 1 || limit > MAX_LIST_LIMIT) {
            throw GlimpseException.invalid("invalid_value", "limit", "limit must be in 1.." + MAX_LIST_LIMIT);
        }
        if (!order.equals("asc") && !order.equals("desc")) {
            throw GlimpseException.invalid("invalid_value", "order", "order must be 'asc' or 'desc'");
        }
        StoredFile cursor = after == null ? null : store.file(after).orElseThrow(() ->
                GlimpseException.invalid("invalid_value", "after", "no file with id '" + after + "' to page after"));
        return CursorPage.render(json, store.files(purpose, cursor, limit + 1, order.equals("asc")), limit, StoredFile::id,
                this::fileJson);
    }

    @GetMapping("/v1/files/{id}")
    public ObjectNode get(@PathVariable String id) {
        return fileJson(find(id));
    }

    @GetMapping("/v1/files/{id}/content")
    public ResponseEntity<StreamingResponseBody> content(@PathVariable String id) {
        StoredFile f = find(id);
        StreamingResponseBody body;
        if (f.kind().equals("upload")) {
            body = out -> Files.copy(files.path(f.id()), out);
        } else {
            int state = f.kind().equals("output") ? JobStore.COMPLETED : JobStore.FAILED;
            body = out -> store.writeResults(f.jobId(), state, out);
        }
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_OCTET_STREAM)
                .header("Content-Disposition", "attachment; filename=\"" + f.filename().replace("\"", "") + "\"").body(body);
    }

    @DeleteMapping("/v1/files/{id}")
    public ObjectNode delete(@PathVariable String id) throws IOException {
        StoredFile f = find(id);
        if (!f.kind().equals("upload")) {
            throw GlimpseException.invalid("invalid_request", "file_id", "file " + id + " belongs to batch " + f.jobId()
                    + "; it goes away with the batch");
        }
        if (store.unfinishedJobs().stream().anyMatch(j -> j.spec().contains("\"" + id + "\""))) {
            throw GlimpseException.invalid("file_in_use", "file_id", "file " + id + " is the input of an unfinished job; "
                    + "cancel the job first");
        }
        store.deleteFile(id);
        files.delete(id);
        return json.createObjectNode().put("id", id).put("object", "file").put("deleted", true);
    }

    StoredFile find(String id) {
        return store.file(id).orElseThrow(() -> GlimpseException.notFound("file_not_found", "file_id", "no file with id '" + id + "'"));
    }

    ObjectNode fileJson(StoredFile f) {
        long bytes = f.kind().equals("upload") ? f.bytes()
                : store.resultBytes(f.jobId(), f.kind().equals("output") ? JobStore.COMPLETED : JobStore.FAILED);
        return json.createObjectNode().put("id", f.id()).put("object", "file").put("bytes", bytes).put("created_at", f.createdAt())
                .put("filename", f.filename()).put("purpose", f.purpose()).put("status", "processed").putNull("status_details");
    }
}
