package dev.glimpse.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

/** Back-pressure over HTTP: one sequence at a time and one waiting slot, so a burst gets 429s with Retry-After at once. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "glimpse.engine.max-num-seqs=1", "glimpse.limits.queue-capacity=1"})
class OverloadTest {

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
    }

    @LocalServerPort
    int port;

    @Test
    void aFullQueueAnswers429WithRetryAfterAndTheAdmittedRequestsComplete() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode body = json.createObjectNode().put("model", ApiTestSupport.MODEL).put("max_tokens", 400)
                .put("temperature", 1.0).put("seed", 3);
        body.putArray("messages").addObject().put("role", "user").put("content", "Describe the image.");
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            burst.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0, rejected = 0;
        for (var f : burst) {
            HttpResponse<String> r = f.join();
            if (r.statusCode() == 200) {
                ok++;
            } else {
                assertEquals(429, r.statusCode(), r.body());
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(null));
                assertEquals("server_overloaded", json.readTree(r.body()).get("error").get("code").asText());
                rejected++;
            }
        }
        // How many get in depends on whether the engine admits the first request before the rest arrive (then one runs
        // and one waits, else only one waits); either way every admitted request completes.
        assertTrue(ok >= 1, "admitted requests complete: " + ok);
        assertTrue(rejected >= 1, "a burst of 8 against 1 running + 1 waiting must see 429s");
        assertEquals(8, ok + rejected);
    }
}
