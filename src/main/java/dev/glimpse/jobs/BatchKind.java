package dev.glimpse.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.api.ChatService;
import dev.glimpse.error.GlimpseException;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

/**
 * OpenAI Batch API jobs: every line of the input JSONL is one {@code /v1/chat/completions} request, run exactly as the
 * HTTP endpoint would run it. A line that cannot run (not JSON, unknown endpoint, invalid request) becomes a line of the
 * error file and the rest continue. Output lines follow OpenAI's batch output format:
 * {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}}.
 */
public final class BatchKind implements JobKind {

    public static final String ENDPOINT = "/v1/chat/completions";
    /** Longest custom_id accepted (OpenAI documents none; every output line repeats it). */
    static final int MAX_CUSTOM_ID = 512;

    private final ChatService chats;
    private final FileStore files;
    private final ObjectMapper json;
    private final Executor prepare;
    private final int maxLines;

    /** @param prepare runs the blocking part of a request (JSON parse, image decode, tokenising) off the runner thread */
    public BatchKind(ChatService chats, FileStore files, ObjectMapper json, Executor prepare, int maxLines) {
        this.chats = chats;
        this.files = files;
        this.json = json;
        this.prepare = prepare;
        this.maxLines = maxLines;
    }

    @Override
    public String kind() {
        return Job.BATCH;
    }

    /** Byte ranges "offset:length" of the non-blank lines of the input file (line terminators excluded). */
    @Override
    public List<String> listInputs(Job job) throws Exception {
        String fileId = spec(job).path("input_file_id").asText();
        List<String> lines = new ArrayList<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(files.path(fileId)), 1 << 16)) {
            long offset = 0;
            long start = 0;
            boolean blank = true;
            for (int b; (b = in.read()) >= 0; offset++) {
                if (b == '\n') {
                    if (!blank) add(lines, start, offset);
                    start = offset + 1;
                    blank = true;
                } else if (b != '\r' && b != ' ' && b != '\t') {
                    blank = false;
                }
            }
            if (!blank) add(lines, start, offset);
        }
        if (lines.isEmpty()) throw GlimpseException.invalid("empty_file", "input_file_id", "the input file has no requests");
        if (lines.size() > maxLines) {
            throw GlimpseException.invalid("too_many_requests", "input_file_id",
                    "the input file has " + lines.size() + " requests; at most " + maxLines + " per batch");
        }
        return lines;
    }

    private static void add(List<String> lines, long start, long end) {
        lines.add(start + ":" + (end - start));
    }

    @Override
    public CompletableFuture<Outcome> process(Job job, Item item, BooleanSupplier cancelled) {
        return CompletableFuture.supplyAsync(() -> parse(job, item), prepare).thenCompose(line -> {
            if (line.failure != null) return CompletableFuture.completedFuture(line.failure);
            ChatService.Prepared p;
            CompletableFuture<dev.glimpse.engine.GenerationResult> generated;
            try {
                p = chats.prepare(line.body);
                generated = chats.generateInBackground(p, cancelled);   // may refuse at once (KV budget, queue full)
            } catch (RuntimeException e) {
                GlimpseException g = ChatService.unwrap(e);
                if (g.status() == 429) throw g;  // engine full: the runner retries the line later
                return CompletableFuture.completedFuture(requestError(job, item, line.customId, g));
            }
            return generated.handle((r, e) -> {
                if (e == null && r.finishReason() == dev.glimpse.engine.FinishReason.CANCELLED) return Outcome.INTERRUPTED;
                if (e == null) {
                    ObjectNode body = chats.completionJson(p, r);
                    return new Outcome(true, outputLine(job, item, line.customId, 200, p.request().id(), body, null),
                            r.completionTokens());
                }
                GlimpseException g = ChatService.unwrap(e);
                if (g.status() == 429) throw g;  // engine full: the runner retries the line later
                return requestError(job, item, line.customId, g);
            });
        });
    }

    private record Line(String customId, JsonNode body, Outcome failure) {}

    private Line parse(Job job, Item item) {
        String[] range = item.input().split(":");
        JsonNode spec = spec(job);
        JsonNode req;
        try {
            byte[] bytes = files.read(spec.path("input_file_id").asText(), Long.parseLong(range[0]), Integer.parseInt(range[1]));
            req = json.readTree(bytes);
        } catch (JsonProcessingException e) {
            return lineError(job, item, null, "invalid_json", "line " + (item.idx() + 1) + " is not valid JSON: "
                    + e.getOriginalMessage());
        } catch (Exception e) {
            return lineError(job, item, null, "unreadable_line", "line " + (item.idx() + 1) + " cannot be read: " + e.getMessage());
        }
        if (!req.isObject()) return lineError(job, item, null, "invalid_request", "line " + (item.idx() + 1) + " is not a JSON object");
        String customId = req.path("custom_id").isTextual() ? req.get("custom_id").asText() : null;
        if (customId == null) {
            return lineError(job, item, null, "missing_custom_id", "line " + (item.idx() + 1) + " has no string custom_id");
        }
        if (customId.length() > MAX_CUSTOM_ID) {
            // echoed into every output line: a megabyte id must not make the result unstorable
            return lineError(job, item, null, "invalid_custom_id", "line " + (item.idx() + 1) + ": custom_id is "
                    + customId.length() + " characters; at most " + MAX_CUSTOM_ID);
        }
        String method = req.path("method").asText("POST");
        if (!method.equals("POST")) {
            return lineError(job, item, customId, "invalid_method", "method '" + clip(method) + "' is not supported; valid: [POST]");
        }
        String url = req.path("url").asText(null);
        String endpoint = spec.path("endpoint").asText();
        if (!endpoint.equals(url)) {
            return lineError(job, item, customId, "invalid_url", "url '" + clip(url) + "' does not match the batch's endpoint "
                    + endpoint + " (each line must name the batch's endpoint)");
        }
        JsonNode body = req.get("body");
        if (body == null || !body.isObject()) {
            return lineError(job, item, customId, "missing_body", "line " + (item.idx() + 1) + " has no body object");
        }
        if (body.path("stream").asBoolean(false)) {
            return lineError(job, item, customId, "invalid_value", "stream is not supported in a batch");
        }
        return new Line(customId, body, null);
    }

    @Override
    public String failure(Job job, Item item, GlimpseException error) {
        String customId;
        try {
            customId = parse(job, item).customId();   // re-read, so the client can still match the error to its line
        } catch (RuntimeException e) {
            customId = null;
        }
        return requestError(job, item, customId, error).result();
    }

    /** A client's value quoted in an error message, cut to a readable length. */
    private static String clip(String value) {
        return value == null || value.length() <= 100 ? value : value.substring(0, 100) + "...";
    }

    /** A line that is not a request at all: OpenAI reports these with response null and an error object. */
    private Line lineError(Job job, Item item, String customId, String code, String message) {
        ObjectNode err = json.createObjectNode().put("code", code).put("message", message);
        return new Line(customId, null, new Outcome(false, outputLine(job, item, customId, 0, null, null, err), 0));
    }

    /** A request that ran and was rejected (4xx) or failed (5xx): the response carries the status and the error body. */
    private Outcome requestError(Job job, Item item, String customId, GlimpseException e) {
        ObjectNode body = json.createObjectNode();
        ObjectNode err = body.putObject("error").put("message", e.getMessage()).put("type", e.type());
        if (e.param() == null) err.putNull("param");
        else err.put("param", e.param());
        err.put("code", e.code());
        return new Outcome(false, outputLine(job, item, customId, e.status(), null, body, null), 0);
    }

    private String outputLine(Job job, Item item, String customId, int status, String requestId, ObjectNode body, ObjectNode error) {
        ObjectNode line = json.createObjectNode().put("id", "batch_req_" + job.id().substring(job.id().indexOf('_') + 1) + "_" + item.idx());
        if (customId == null) line.putNull("custom_id");
        else line.put("custom_id", customId);
        if (status == 0) {
            line.putNull("response");
        } else {
            ObjectNode resp = line.putObject("response").put("status_code", status);
            if (requestId == null) resp.putNull("request_id");
            else resp.put("request_id", requestId);
            resp.set("body", body);
        }
        if (error == null) line.putNull("error");
        else line.set("error", error);
        try {
            return json.writeValueAsString(line);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode spec(Job job) {
        try {
            return json.readTree(job.spec());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("job " + job.id() + " has a corrupt spec", e);
        }
    }
}
