package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every malformed request gets a 4xx in OpenAI's error shape, and the server keeps serving: after each case a valid request
 * must still succeed.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability // Spring tests switch metric export off by default; /actuator/prometheus is part of the API
class BadInputTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
    }

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    HttpResponse<String> post(String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts status, OpenAI error shape, error code and (when given) param. */
    JsonNode expectError(HttpResponse<String> r, int status, String code, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertNotNull(err, r.body());
        assertTrue(err.get("message").asText().length() > 10, "message should explain: " + r.body());
        assertTrue(err.has("type") && err.has("param") && err.has("code"), r.body());
        assertEquals(code, err.get("code").asText(), r.body());
        if (param != null) assertEquals(param, err.get("param").asText(), r.body());
        return err;
    }

    @AfterEach
    void stillServing() throws Exception {
        ObjectNode ok = JSON.createObjectNode().put("model", "kimivl-random").put("max_tokens", 2);
        ok.putArray("messages").addObject().put("role", "user").put("content", "How many shapes are there?");
        assertEquals(200, post(ok.toString()).statusCode(), "the server must keep serving after a bad request");
    }

    ObjectNode withImage(String url) {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random").put("max_tokens", 2);
        ArrayNode content = body.putArray("messages").addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "image_url").putObject("image_url").put("url", url);
        content.addObject().put("type", "text").put("text", "What is this?");
        return body;
    }

    static String png(byte[] bytes) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(bytes);
    }

    ObjectNode text(String text) {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random");
        body.putArray("messages").addObject().put("role", "user").put("content", text);
        return body;
    }

    @Test
    void malformedJson() throws Exception {
        expectError(post("{\"model\": \"kimivl-random\", \"messages\": [ "), 400, "invalid_json", null);
    }

    @Test
    void unknownModel() throws Exception {
        JsonNode err = expectError(post(text("hi").put("model", "gpt-9").toString()), 404, "model_not_found", "model");
        assertTrue(err.get("message").asText().contains("kimivl-random"), "lists the available models");
    }

    @Test
    void invalidBase64() throws Exception {
        expectError(post(withImage("data:image/png;base64,@@not*base64@@").toString()), 400, "invalid_base64",
                "messages[0].content[0].image_url.url");
    }

    @Test
    void bytesThatAreNotAnImage() throws Exception {
        expectError(post(withImage(png("this is plain text, not a picture".getBytes())).toString()), 400, "invalid_image",
                "messages[0].content[0].image_url.url");
    }

    @Test
    void truncatedPng() throws Exception {
        byte[] full = Files.readAllBytes(Path.of("src/test/resources/golden/kimivl/a.png"));
        expectError(post(withImage(png(Arrays.copyOf(full, full.length / 2))).toString()), 400, "invalid_image", null);
    }

    @Test
    void zeroByteImage() throws Exception {
        expectError(post(withImage("data:image/png;base64,").toString()), 400, "invalid_image", null);
    }

    @Test
    void headerClaiming30000x30000IsRefusedBeforeDecoding() throws Exception {
        expectError(post(withImage(png(pngHeaderOnly(30000, 30000))).toString()), 413, "image_too_large", null);
    }

    @Test
    void moreImagesThanTheLimit() throws Exception {
        byte[] a = Files.readAllBytes(Path.of("src/test/resources/golden/kimivl/a.png"));
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random");
        ArrayNode content = body.putArray("messages").addObject().put("role", "user").putArray("content");
        for (int i = 0; i < 9; i++) content.addObject().put("type", "image_url").putObject("image_url").put("url", png(a));
        expectError(post(body.toString()), 400, "too_many_images", null);
    }

    @Test
    void promptLongerThanTheContext() throws Exception {
        expectError(post(text("lantern ".repeat(5000)).toString()), 400, "context_length_exceeded", "messages");
    }

    @Test
    void negativeTemperature() throws Exception {
        expectError(post(text("hi").put("temperature", -0.5).toString()), 400, "invalid_value", "temperature");
    }

    @Test
    void topPOutsideZeroOne() throws Exception {
        expectError(post(text("hi").put("top_p", 0).toString()), 400, "invalid_value", "top_p");
        expectError(post(text("hi").put("top_p", 1.5).toString()), 400, "invalid_value", "top_p");
    }

    @Test
    void nonPositiveMaxTokens() throws Exception {
        expectError(post(text("hi").put("max_tokens", 0).toString()), 400, "invalid_value", "max_tokens");
        expectError(post(text("hi").put("max_tokens", -3).toString()), 400, "invalid_value", "max_tokens");
    }

    @Test
    void numbersAreNotTruncated() throws Exception {
        // 4294967396 would have become 100 through asInt(); 0.5 for top_k would have switched top-k off
        expectError(post(text("hi").put("max_tokens", 4294967396L).toString()), 400, "invalid_type", "max_tokens");
        expectError(post(text("hi").put("top_k", 0.5).toString()), 400, "invalid_type", "top_k");
        expectError(post(text("hi").put("n", 4294967297L).toString()), 400, "invalid_type", "n");
        expectError(post(text("hi").put("stream", "yes").toString()), 400, "invalid_type", "stream");
        ObjectNode nullStop = text("hi");
        nullStop.putArray("stop").addNull();
        expectError(post(nullStop.toString()), 400, "invalid_type", "stop[0]");
    }

    @Test
    void nOtherThanOneIsAClientError() throws Exception {
        expectError(post(text("hi").put("n", 2).toString()), 400, "invalid_value", "n");
        assertEquals(200, post(text("hi").put("n", 1).put("max_tokens", 2).toString()).statusCode());
    }

    @Test
    void maxCompletionTokensNullFallsBackToMaxTokens() throws Exception {
        ObjectNode body = text("hi").put("max_tokens", -1);
        body.putNull("max_completion_tokens");
        expectError(post(body.toString()), 400, "invalid_value", "max_tokens");
        expectError(post(text("hi").put("max_completion_tokens", 2.5).toString()), 400, "invalid_type", "max_completion_tokens");
    }

    @Test
    void unsupportedOpenAiFeaturesAreRefusedNotIgnored() throws Exception {
        expectError(post(text("hi").put("logprobs", true).toString()), 400, "unsupported_parameter", "logprobs");
        expectError(post(text("hi").put("top_logprobs", 3).toString()), 400, "unsupported_parameter", "top_logprobs");
        expectError(post(text("hi").put("presence_penalty", 0.5).toString()), 400, "unsupported_parameter", "presence_penalty");
        ObjectNode json = text("hi");
        json.putObject("response_format").put("type", "json_object");
        expectError(post(json.toString()), 400, "unsupported_parameter", "response_format");
        ObjectNode tools = text("hi");
        tools.putArray("tools").addObject().put("type", "function");
        expectError(post(tools.toString()), 400, "unsupported_parameter", "tools");
        // what SDKs send by default is fine
        ObjectNode neutral = text("hi").put("max_tokens", 2).put("logprobs", false).put("frequency_penalty", 0)
                .put("presence_penalty", 0.0).put("tool_choice", "none");
        neutral.putObject("response_format").put("type", "text");
        neutral.putObject("logit_bias");
        assertEquals(200, post(neutral.toString()).statusCode());
    }

    @Test
    void wrongQueryParameterTypeIs400() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/files?limit=abc"))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        expectError(r, 400, "invalid_type", "limit");
        HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/files"))
                .header("Content-Type", "multipart/form-data").POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(m.statusCode() >= 400 && m.statusCode() < 500, m.statusCode() + " " + m.body());
    }

    @Test
    void remoteUrlWhileRemoteFetchIsOff() throws Exception {
        JsonNode err = expectError(post(withImage("https://example.com/cat.png").toString()), 400, "remote_images_disabled",
                "messages[0].content[0].image_url.url");
        assertTrue(err.get("message").asText().contains("data URL"), "tells the client what to do instead");
    }

    @Test
    void unknownRoleAndPartType() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", "kimivl-random");
        body.putArray("messages").addObject().put("role", "wizard").put("content", "hi");
        expectError(post(body.toString()), 400, "invalid_value", "messages[0].role");
        ObjectNode body2 = JSON.createObjectNode().put("model", "kimivl-random");
        body2.putArray("messages").addObject().put("role", "user").putArray("content").addObject().put("type", "audio");
        expectError(post(body2.toString()), 400, "invalid_value", "messages[0].content[0].type");
    }

    /** A PNG signature and an IHDR chunk claiming {@code w x h}, with no pixel data at all. */
    static byte[] pngHeaderOnly(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes()).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        out.writeBytes(ByteBuffer.allocate(4).putInt(13).array());
        out.writeBytes(ihdr.array());
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        return out.toByteArray();
    }

    @Test
    void imageGenerationOnAModelThatCannotDrawIs400AfterTheRequestIsValidated() throws Exception {
        java.util.function.Function<String, HttpResponse<String>> images = b -> {
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/images/generations"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(b)).build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        expectError(images.apply("{\"prompt\": \"Draw a red circle and a blue square.\", \"n\": 1, \"response_format\": \"b64_json\"}"),
                400, "model_cannot_generate", "model");
        expectError(images.apply("{\"n\": 1}"), 400, "missing_field", "prompt");
        expectError(images.apply("{\"prompt\": \"x\", \"n\": 9}"), 400, "invalid_value", "n");
        expectError(images.apply("{\"prompt\": \"x\", \"response_format\": \"url\"}"), 400, "invalid_value", "response_format");
        expectError(images.apply("{\"prompt\": \"x\", \"size\": \"big\"}"), 400, "invalid_value", "size");
        expectError(images.apply("{\"prompt\": \"x\", \"model\": \"dall-e-3\"}"), 404, "model_not_found", "model");
    }
}
