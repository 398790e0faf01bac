package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The server on a Chameleon-family card (the random-weight parity checkpoint, card chameleon-random) over real HTTP:
 * the same chat completions API as Kimi-VL with the reference's greedy tokens, and image generation.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ChameleonApiTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/chameleon");
    static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r, "chameleon-random");
    }

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void chatCompletionsAnswerWithTheReferenceTokens() throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        ObjectNode body = JSON.createObjectNode().put("model", "chameleon-random").put("temperature", 0).put("max_tokens", 8);
        ArrayNode content = body.putArray("messages").addObject().put("role", "user").putArray("content");
        for (JsonNode p : golden.get("prompt_parts")) {
            if (p.isTextual()) {
                content.addObject().put("type", "text").put("text", p.asText());
            } else {
                String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(
                        Files.readAllBytes(GOLDEN.resolve(p.get("image").asText())));
                content.addObject().put("type", "image_url").putObject("image_url").put("url", url);
            }
        }
        HttpResponse<String> r = post("/v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode out = JSON.readTree(r.body());
        assertEquals(golden.get("S").asInt(), out.at("/usage/prompt_tokens").asInt());
        assertEquals(8, out.at("/usage/completion_tokens").asInt());
        assertEquals("length", out.at("/choices/0/finish_reason").asText());
        assertEquals(golden.get("greedy_text").asText(), out.at("/choices/0/message/content").asText());
    }

    @Test
    void imagesGenerationsDrawsPngsOfTheModelsSize() throws Exception {
        String req = "{\"prompt\": \"Draw a red circle and a blue square.\", \"n\": 2, \"seed\": 7, \"size\": \"16x16\"}";
        HttpResponse<String> r = post("/v1/images/generations", req);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode data = JSON.readTree(r.body()).get("data");
        assertEquals(2, data.size());
        for (JsonNode d : data) {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(d.get("b64_json").asText())));
            assertEquals(16, img.getWidth());
            assertEquals(16, img.getHeight());
        }
        JsonNode again = JSON.readTree(post("/v1/images/generations", req).body()).get("data");
        assertEquals(data, again, "the same seed draws the same pictures");
    }

    @Test
    void theCardsImageSamplingAppliesUnlessTheRequestSetsItsOwn() throws Exception {
        // The test card says default_image_sampling temperature 0 (greedy): the seed then changes nothing ...
        String greedy = "{\"prompt\": \"Draw a red circle.\", \"seed\": %d}";
        assertEquals(drawn(greedy.formatted(1)), drawn(greedy.formatted(2)));
        // ... while a request's own temperature samples, so seeds draw different pictures.
        String sampled = "{\"prompt\": \"Draw a red circle.\", \"seed\": %d, \"temperature\": 1.0}";
        assertNotEquals(drawn(sampled.formatted(1)), drawn(sampled.formatted(2)));
        assertNotEquals(drawn(greedy.formatted(1)), drawn(sampled.formatted(1)));
    }

    private JsonNode drawn(String body) throws Exception {
        HttpResponse<String> r = post("/v1/images/generations", body);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).at("/data/0/b64_json");
    }

    @Test
    void theModelListSaysWhatItDraws() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode model = JSON.readTree(r.body()).at("/data/0");
        assertEquals("chameleon", model.get("family").asText());
        assertEquals("[\"16x16\"]", model.get("image_generation_sizes").toString());
    }

    @Test
    void aSizeTheModelDoesNotDrawIsA400NamingTheValidOnes() throws Exception {
        HttpResponse<String> r = post("/v1/images/generations", "{\"prompt\": \"Draw a red circle.\", \"size\": \"512x512\"}");
        assertEquals(400, r.statusCode());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertEquals("invalid_value", err.get("code").asText());
        assertEquals("size", err.get("param").asText());
        assertTrue(err.get("message").asText().contains("[16x16]"), err.toString());

        r = post("/v1/images/generations", "{\"prompt\": \"Draw a red circle.\", \"seed\": 1.5}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("seed", JSON.readTree(r.body()).at("/error/param").asText());

        // 1024-token context: a prompt that leaves no room for the image's 64 tokens
        r = post("/v1/images/generations", "{\"prompt\": \"" + "red circle ".repeat(300) + "\"}");
        assertEquals(400, r.statusCode(), r.body());
        err = JSON.readTree(r.body()).get("error");
        assertEquals("context_length_exceeded", err.get("code").asText());
        assertEquals("prompt", err.get("param").asText());
    }
}
