package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/** Kubernetes-style probes over real HTTP on loopback (shares the server context of the other API tests). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability // Spring tests switch metric export off by default; /actuator/prometheus is part of the API
class HealthEndpointTest {

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
    }

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    JsonNode get(String path, int expectedStatus) throws Exception {
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(expectedStatus, resp.statusCode(), path + ": " + resp.body());
        return new ObjectMapper().readTree(resp.body());
    }

    @Test
    void liveness() throws Exception {
        assertEquals("UP", get("/actuator/health/liveness", 200).path("status").asText());
    }

    @Test
    void readiness() throws Exception {
        assertEquals("UP", get("/actuator/health/readiness", 200).path("status").asText());
    }

    @Test
    void overallHealth() throws Exception {
        assertEquals("UP", get("/actuator/health", 200).path("status").asText());
    }

    @Test
    void unknownProbeIs404() throws Exception {
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/actuator/health/nonexistent")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, resp.statusCode());
    }
}
