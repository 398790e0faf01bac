package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.engine.ServedModel;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * End to end over real HTTP on loopback: the real jar's Spring context, the random-weight parity checkpoint (card kimivl-random) converted at start-up,
 * ONNX Runtime on CPU. Answers are checked against the PyTorch reference's greedy tokens for the same images and prompt.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability // Spring tests switch metric export off by default; /actuator/prometheus is part of the API
class ChatCompletionsApiTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/kimivl");
    /** Text of the reference's 8 greedy tokens [740, 661, 87, 682, 76, 236, 314, 272] with special tokens skipped. */
    static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
    }

    @LocalServerPort
    int port;

    @Autowired
    ServedModel served;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static String dataUrl(String file) throws Exception {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(GOLDEN.resolve(file)));
    }

    ObjectNode goldenRequest() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random").put("temperature", 0).put("max_tokens", 8);
        ArrayNode content = body.putArray("messages").addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl("a.png"));
        content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl("b.png"));
        content.addObject().put("type", "text").put("text", "What color is the circle?");
        return body;
    }

    HttpResponse<String> post(String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    String expectedGreedyText() {
        return ((dev.glimpse.family.kimivl.KimiVlFamily) served.family()).tokenizer().decode(new int[]{740, 661, 87, 682, 76, 236, 314, 272}, true);
    }

    @Test
    void listsTheServedModel() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        JsonNode data = JSON.readTree(r.body()).get("data");
        assertEquals(1, data.size());
        assertEquals("kimivl-random", data.get(0).get("id").asText());
        assertEquals(0, data.get(0).get("image_generation_sizes").size(), "Kimi-VL does not draw");
    }

    @Test
    void greedyAnswerOnTwoImagesMatchesPyTorchReference() throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = post(goldenRequest().toString());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        assertEquals("chat.completion", j.get("object").asText());
        JsonNode choice = j.get("choices").get(0);
        assertEquals(expectedGreedyText(), choice.get("message").get("content").asText());
        assertEquals("length", choice.get("finish_reason").asText());
        assertEquals(63, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(8, j.get("usage").get("completion_tokens").asInt());
        assertEquals(71, j.get("usage").get("total_tokens").asInt());
        System.out.printf("two-image request, 63 prompt + 8 generated tokens: %d ms over HTTP%n", ms);
    }

    @Test
    void streamingSendsTheSameTextAsChunksThenUsageThenDone() throws Exception {
        ObjectNode body = goldenRequest().put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        HttpResponse<String> r = post(body.toString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> events = new ArrayList<>();
        for (String line : r.body().split("\n")) if (line.startsWith("data: ")) events.add(line.substring(6));
        assertEquals("[DONE]", events.get(events.size() - 1));
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = JSON.readTree(e);
            assertEquals("chat.completion.chunk", c.get("object").asText());
            if (c.has("usage")) {
                usage = c.get("usage");
                assertEquals(0, c.get("choices").size());
                continue;
            }
            JsonNode ch = c.get("choices").get(0);
            if (ch.get("delta").has("content")) text.append(ch.get("delta").get("content").asText());
            if (!ch.get("finish_reason").isNull()) finish = ch.get("finish_reason").asText();
        }
        assertEquals(expectedGreedyText(), text.toString());
        assertEquals("length", finish);
        assertNotNull(usage);
        assertEquals(63, usage.get("prompt_tokens").asInt());
        assertEquals(8, usage.get("completion_tokens").asInt());
    }

    @Test
    void sameSeedSameOutputAndStopStringsCutTheText() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random").put("temperature", 1.0).put("top_p", 0.9)
                .put("top_k", 50).put("seed", 1234).put("max_tokens", 24);
        body.putArray("messages").addObject().put("role", "user").put("content", "Describe the image.");
        String a = JSON.readTree(post(body.toString()).body()).get("choices").get(0).get("message").get("content").asText();
        String b = JSON.readTree(post(body.toString()).body()).get("choices").get(0).get("message").get("content").asText();
        assertEquals(a, b, "same seed must give the same output");
        body.put("seed", 99);
        String c = JSON.readTree(post(body.toString()).body()).get("choices").get(0).get("message").get("content").asText();
        assertNotEquals(a, c, "a different seed should sample differently");

        assertTrue(a.length() >= 3, "need some text to cut: '" + a + "'");
        String stop = a.substring(a.length() / 2, a.length() / 2 + 2);
        body.put("seed", 1234).putArray("stop").add(stop);
        JsonNode r = JSON.readTree(post(body.toString()).body()).get("choices").get(0);
        assertEquals(a.substring(0, a.indexOf(stop)), r.get("message").get("content").asText());
        assertEquals("stop", r.get("finish_reason").asText());
    }

    @Test
    void textOnlyMultiTurnWithSystemPrompt() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random").put("max_tokens", 4);
        ArrayNode msgs = body.putArray("messages");
        msgs.addObject().put("role", "system").put("content", "You answer briefly.");
        msgs.addObject().put("role", "user").put("content", "What shape is the red object?");
        msgs.addObject().put("role", "assistant").put("content", "circle");
        ArrayNode content = msgs.addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "text").put("text", "And this one?");
        content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl("b.png"));
        HttpResponse<String> r = post(body.toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode usage = JSON.readTree(r.body()).get("usage");
        assertEquals(4, usage.get("completion_tokens").asInt());
        assertTrue(usage.get("prompt_tokens").asInt() > 12, "b.png alone is 12 image tokens");
    }

    @Test
    void prometheusEndpointExposesEngineMetrics() throws Exception {
        assertEquals(200, post(goldenRequest().toString()).statusCode());
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        for (String metric : List.of("glimpse_time_to_first_token_seconds_bucket", "glimpse_inter_token_latency_seconds_bucket",
                "glimpse_request_latency_seconds_bucket", "glimpse_queue_depth", "glimpse_running_sequences",
                "glimpse_generated_tokens_total", "glimpse_vision_cache_total", "glimpse_kv_cache_bytes")) {
            assertTrue(r.body().contains(metric), "missing " + metric);
        }
        assertTrue(r.body().contains("result=\"hit\""), "the golden images were sent more than once, so the vision cache hit");
    }

    @Test
    void droppedStreamStopsGenerationWithinAStep() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random").put("temperature", 1.0).put("seed", 7)
                .put("max_tokens", 3000).put("stream", true);
        body.putArray("messages").addObject().put("role", "user").put("content", "Describe the image.");
        long cancelledBefore = served.cancelledCount();
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        int events = 0;
        String line;
        while (events < 5 && (line = reader.readLine()) != null) if (line.startsWith("data: ")) events++;
        r.body().close(); // the client goes away mid-stream
        long deadline = System.currentTimeMillis() + 10_000;
        while (served.cancelledCount() == cancelledBefore && System.currentTimeMillis() < deadline) Thread.sleep(20);
        assertEquals(cancelledBefore + 1, served.cancelledCount(), "generation should stop once the client is gone");
        assertTrue(served.lastCompletionTokens() < 3000, "stopped early: " + served.lastCompletionTokens());
        // and the server keeps serving
        assertEquals(200, post(goldenRequest().toString()).statusCode());
    }
}
