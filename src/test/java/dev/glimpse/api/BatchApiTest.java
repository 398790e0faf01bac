package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static dev.glimpse.api.JobApiClient.JSON;
import static org.junit.jupiter.api.Assertions.*;

/** OpenAI Batch API over real HTTP on the real (random-weight) model: files, batches, output and error files. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability
class BatchApiTest {

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
    }

    @LocalServerPort
    int port;
    JobApiClient api;

    @BeforeEach
    void client() {
        api = new JobApiClient(port);
    }

    static String dataUrl(String resource) throws Exception {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(resource)));
    }

    static ObjectNode chatBody(String question, String imageUrl, int maxTokens) {
        ObjectNode body = JSON.createObjectNode().put("model", ApiTestSupport.MODEL).put("max_tokens", maxTokens);
        ArrayNode content = body.putArray("messages").addObject().put("role", "user").putArray("content");
        if (imageUrl != null) content.addObject().put("type", "image_url").putObject("image_url").put("url", imageUrl);
        content.addObject().put("type", "text").put("text", question);
        return body;
    }

    static String line(String customId, String url, JsonNode body) {
        ObjectNode l = JSON.createObjectNode().put("custom_id", customId).put("method", "POST").put("url", url);
        l.set("body", body);
        return l.toString();
    }

    String upload(String jsonl) throws Exception {
        JsonNode f = api.ok(api.postMultipart("/v1/files", Map.of("purpose", "batch"), "requests.jsonl",
                jsonl.getBytes(StandardCharsets.UTF_8)));
        assertEquals("file", f.get("object").asText());
        assertEquals("batch", f.get("purpose").asText());
        assertEquals(jsonl.getBytes(StandardCharsets.UTF_8).length, f.get("bytes").asLong());
        return f.get("id").asText();
    }

    JsonNode createBatch(String fileId) throws Exception {
        ObjectNode req = JSON.createObjectNode().put("input_file_id", fileId).put("endpoint", "/v1/chat/completions")
                .put("completion_window", "24h");
        req.putObject("metadata").put("purpose", "test");
        return api.ok(api.postJson("/v1/batches", req.toString()));
    }

    @Test
    void aBatchRunsEveryLineLikeTheEndpointAndBadLinesGoToTheErrorFile() throws Exception {
        ObjectNode withImage = chatBody("What color is the circle?", dataUrl("src/test/resources/golden/kimivl/a.png"), 6);
        ObjectNode textOnly = chatBody("How many shapes are there?", null, 5);
        ObjectNode unknownModel = chatBody("Hello", null, 3).put("model", "no-such-model");
        String jsonl = line("ok-image", "/v1/chat/completions", withImage) + "\n"
                + "this line is not json\n"
                + line("wrong-endpoint", "/v1/embeddings", textOnly) + "\n"
                + "\n"                                              // blank lines are skipped, not requests
                + line("ok-text", "/v1/chat/completions", textOnly) + "\r\n"
                + line("bad-model", "/v1/chat/completions", unknownModel);   // no final newline
        String fileId = upload(jsonl);

        JsonNode created = createBatch(fileId);
        String id = created.get("id").asText();
        assertTrue(id.startsWith("batch_"), id);
        assertEquals("batch", created.get("object").asText());
        assertEquals("/v1/chat/completions", created.get("endpoint").asText());
        assertEquals(fileId, created.get("input_file_id").asText());
        assertEquals("test", created.path("metadata").path("purpose").asText());
        assertTrue(List.of("validating", "in_progress", "finalizing", "completed").contains(created.get("status").asText()));

        JsonNode done = api.await("/v1/batches/" + id, b -> b.get("status").asText().equals("completed"), Duration.ofSeconds(60));
        assertEquals(5, done.path("request_counts").path("total").asInt(), done.toString());
        assertEquals(2, done.path("request_counts").path("completed").asInt(), done.toString());
        assertEquals(3, done.path("request_counts").path("failed").asInt(), done.toString());
        assertTrue(done.get("completed_at").asLong() >= done.get("created_at").asLong());
        assertTrue(done.get("in_progress_at").isNumber() && done.get("finalizing_at").isNumber(), done.toString());

        // Output: OpenAI's batch output lines, bodies equal to what the endpoint answers for the same request (greedy).
        List<JsonNode> out = JobApiClient.jsonl(api.get("/v1/files/" + done.get("output_file_id").asText() + "/content").body());
        assertEquals(List.of("ok-image", "ok-text"), out.stream().map(l -> l.get("custom_id").asText()).toList());
        for (JsonNode l : out) {
            assertTrue(l.get("id").asText().startsWith("batch_req_"), l.toString());
            assertTrue(l.get("error").isNull(), l.toString());
            assertEquals(200, l.path("response").path("status_code").asInt(), l.toString());
            JsonNode body = l.path("response").path("body");
            assertEquals("chat.completion", body.path("object").asText());
            assertEquals(body.path("id").asText(), l.path("response").path("request_id").asText());
            ObjectNode same = l.get("custom_id").asText().equals("ok-image") ? withImage : textOnly;
            JsonNode direct = api.ok(api.postJson("/v1/chat/completions", same.toString()));
            assertEquals(direct.at("/choices/0/message/content").asText(), body.at("/choices/0/message/content").asText());
            assertEquals(direct.at("/usage/prompt_tokens").asInt(), body.at("/usage/prompt_tokens").asInt());
            assertEquals(direct.at("/usage/completion_tokens").asInt(), body.at("/usage/completion_tokens").asInt());
        }
        JsonNode outMeta = api.ok(api.get("/v1/files/" + done.get("output_file_id").asText()));
        assertEquals("batch_output", outMeta.get("purpose").asText());
        assertEquals(api.get("/v1/files/" + done.get("output_file_id").asText() + "/content").body()
                .getBytes(StandardCharsets.UTF_8).length, outMeta.get("bytes").asLong());

        // Errors: the line that is not JSON, the wrong endpoint, the request the endpoint rejects (404 unknown model).
        List<JsonNode> errors = JobApiClient.jsonl(api.get("/v1/files/" + done.get("error_file_id").asText() + "/content").body());
        assertEquals(3, errors.size(), errors.toString());
        assertTrue(errors.get(0).get("custom_id").isNull());
        assertTrue(errors.get(0).get("response").isNull());
        assertEquals("invalid_json", errors.get(0).at("/error/code").asText());
        assertEquals("wrong-endpoint", errors.get(1).get("custom_id").asText());
        assertEquals("invalid_url", errors.get(1).at("/error/code").asText());
        assertEquals("bad-model", errors.get(2).get("custom_id").asText());
        assertEquals(404, errors.get(2).at("/response/status_code").asInt());
        assertEquals("model_not_found", errors.get(2).at("/response/body/error/code").asText());

        // The server kept serving throughout.
        assertEquals(200, api.postJson("/v1/chat/completions", textOnly.toString()).statusCode());
    }

    @Test
    void batchesAreListedNewestFirstWithACursor() throws Exception {
        String fileId = upload(line("only", "/v1/chat/completions", chatBody("Hi", null, 2)) + "\n");
        String first = createBatch(fileId).get("id").asText();
        String second = createBatch(fileId).get("id").asText();
        JsonNode page = api.ok(api.get("/v1/batches?limit=1"));
        assertEquals("list", page.get("object").asText());
        assertEquals(1, page.get("data").size());
        assertEquals(second, page.get("first_id").asText());
        assertTrue(page.get("has_more").asBoolean());
        JsonNode next = api.ok(api.get("/v1/batches?limit=1&after=" + second));
        assertEquals(first, next.at("/data/0/id").asText());
        api.error(api.get("/v1/batches?limit=0"), 400, "invalid_value");
    }

    @Test
    void cancellingStopsTheBatchAndKeepsWhatFinished() throws Exception {
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            jsonl.append(line("r" + i, "/v1/chat/completions", chatBody("Describe shape number " + i, null, 48))).append('\n');
        }
        String id = createBatch(upload(jsonl.toString())).get("id").asText();
        api.await("/v1/batches/" + id, b -> b.at("/request_counts/completed").asInt() >= 1, Duration.ofSeconds(60));
        JsonNode cancelling = api.ok(api.postJson("/v1/batches/" + id + "/cancel", ""));
        assertTrue(List.of("cancelling", "cancelled").contains(cancelling.get("status").asText()), cancelling.toString());
        assertTrue(cancelling.get("cancelling_at").isNumber());
        JsonNode cancelled = api.await("/v1/batches/" + id, b -> b.get("status").asText().equals("cancelled"), Duration.ofSeconds(60));
        int completed = cancelled.at("/request_counts/completed").asInt();
        assertTrue(completed >= 1 && completed < 300, cancelled.toString());
        assertTrue(cancelled.get("cancelled_at").isNumber());
        List<JsonNode> out = JobApiClient.jsonl(api.get("/v1/files/" + cancelled.get("output_file_id").asText() + "/content").body());
        assertEquals(completed, out.size());
        for (JsonNode l : out) {   // requests cut short by the cancel are not results
            assertNotEquals("cancelled", l.at("/response/body/choices/0/finish_reason").asText(), l.toString());
        }
        // Cancelling a finished batch changes nothing.
        assertEquals("cancelled", api.ok(api.postJson("/v1/batches/" + id + "/cancel", "")).get("status").asText());
    }

    @Test
    void unknownIdsAre404AndInvalidRequestsAre400() throws Exception {
        api.error(api.get("/v1/batches/batch_doesnotexist"), 404, "batch_not_found");
        api.error(api.postJson("/v1/batches/batch_doesnotexist/cancel", ""), 404, "batch_not_found");
        api.error(api.get("/v1/files/file-doesnotexist"), 404, "file_not_found");
        api.error(api.get("/v1/files/file-doesnotexist/content"), 404, "file_not_found");
        api.error(api.postJson("/v1/batches", "{\"input_file_id\":\"file-doesnotexist\",\"endpoint\":\"/v1/chat/completions\","
                + "\"completion_window\":\"24h\"}"), 404, "file_not_found");
        String fileId = upload(line("x", "/v1/chat/completions", chatBody("Hi", null, 2)) + "\n");
        api.error(api.postJson("/v1/batches", "{\"input_file_id\":\"" + fileId + "\",\"endpoint\":\"/v1/embeddings\","
                + "\"completion_window\":\"24h\"}"), 400, "invalid_value");
        api.error(api.postJson("/v1/batches", "{\"input_file_id\":\"" + fileId + "\",\"endpoint\":\"/v1/chat/completions\","
                + "\"completion_window\":\"1h\"}"), 400, "invalid_value");
        api.error(api.postJson("/v1/batches", "{\"endpoint\":\"/v1/chat/completions\"}"), 400, "missing_field");
        for (String metadata : List.of("{\"k\":\"" + "v".repeat(70_000) + "\"}", "{\"k\":3}", "[1]")) {
            api.error(api.postJson("/v1/batches", "{\"input_file_id\":\"" + fileId + "\",\"endpoint\":\"/v1/chat/completions\","
                    + "\"metadata\":" + metadata + "}"), 400, "invalid_value");
        }
        api.error(api.postMultipart("/v1/files", Map.of("purpose", "fine-tune"), "x.jsonl", new byte[] {'{', '}'}), 400, "invalid_value");
        api.error(api.postMultipart("/v1/files", Map.of(), "x.jsonl", new byte[] {'{', '}'}), 400, "missing_field");
        api.error(api.postMultipart("/v1/files", Map.of("purpose", "batch"), null, null), 400, "missing_field");
    }

    @Test
    void aFileWithNoRequestsFailsTheBatchWithAReason() throws Exception {
        String id = createBatch(upload("\n \n")).get("id").asText();
        JsonNode failed = api.await("/v1/batches/" + id, b -> b.get("status").asText().equals("failed"), Duration.ofSeconds(30));
        assertTrue(failed.at("/errors/data/0/message").asText().contains("no requests"), failed.toString());
        assertTrue(failed.get("failed_at").isNumber());
    }

    @Test
    void uploadedFilesCanBeListedReadAndDeleted() throws Exception {
        String content = line("x", "/v1/chat/completions", chatBody("Hi", null, 2)) + "\n";
        String id = upload(content);
        assertEquals(content, api.get("/v1/files/" + id + "/content").body());
        assertTrue(api.ok(api.get("/v1/files?purpose=batch")).get("data").findValuesAsText("id").contains(id));
        JsonNode del = api.ok(api.delete("/v1/files/" + id));
        assertTrue(del.get("deleted").asBoolean());
        api.error(api.get("/v1/files/" + id), 404, "file_not_found");
    }

    /** The OpenAI SDKs' auto-pagination follows last_id while has_more: it must walk every file once and stop. */
    @Test
    void fileListPagesWithACursorUntilHasMoreIsFalse() throws Exception {
        java.util.Set<String> mine = new java.util.HashSet<>();
        for (int i = 0; i < 3; i++) mine.add(upload(line("p" + i, "/v1/chat/completions", chatBody("Hi", null, 2)) + "\n"));
        List<String> seen = new java.util.ArrayList<>();
        String after = null;
        for (int pages = 0; pages < 100; pages++) {
            JsonNode page = api.ok(api.get("/v1/files?purpose=batch&limit=2" + (after == null ? "" : "&after=" + after)));
            page.get("data").findValuesAsText("id").forEach(seen::add);
            assertTrue(page.get("data").size() <= 2, page.toString());
            if (!page.get("has_more").asBoolean()) break;
            after = page.get("last_id").asText();
        }
        assertEquals(seen.size(), new java.util.HashSet<>(seen).size(), "no file twice: " + seen);
        assertTrue(seen.containsAll(mine), seen + " should hold " + mine);
        JsonNode asc = api.ok(api.get("/v1/files?purpose=batch&order=asc&limit=10000"));
        List<String> ascending = asc.get("data").findValuesAsText("id");
        List<String> reversed = new java.util.ArrayList<>(seen);
        java.util.Collections.reverse(reversed);
        assertEquals(reversed, ascending, "asc is the same list the other way round");
        api.error(api.get("/v1/files?after=file-nope"), 400, "invalid_value");
        api.error(api.get("/v1/files?limit=0"), 400, "invalid_value");
        api.error(api.get("/v1/files?order=sideways"), 400, "invalid_value");
        api.error(api.get("/v1/batches?after=batch_nope"), 400, "invalid_value");
    }
}
