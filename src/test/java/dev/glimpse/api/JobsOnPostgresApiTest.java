package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.annotation.DirtiesContext;

import java.awt.Color;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The whole server on a real PostgreSQL job database (its own schema, migrated by the server's Flyway at start): a
 * batch and a caption job over HTTP. The schema outlives the class (its server's job runner polls it until the context
 * closes, after every @AfterAll), so each run drops the schemas earlier runs left instead. Runs where GLIMPSE_TEST_POSTGRES_URL is set (.ci/run starts the
 * server and sets it; scripts/start-test-postgres.sh prints the URL).
 */
@EnabledIfEnvironmentVariable(named = "GLIMPSE_TEST_POSTGRES_URL", matches = ".+")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability
@DirtiesContext   // its server talks to PostgreSQL: close it after this class rather than keep it cached
class JobsOnPostgresApiTest {

    static final String URL = System.getenv("GLIMPSE_TEST_POSTGRES_URL");
    static final String SCHEMA = "glimpse_api_" + Long.toHexString(System.nanoTime());

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
        r.add("spring.datasource.url", () -> URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA);
        r.add("spring.datasource.username", () -> System.getenv("GLIMPSE_TEST_POSTGRES_USER"));
        r.add("spring.datasource.password", () -> System.getenv("GLIMPSE_TEST_POSTGRES_PASSWORD"));
        r.add("spring.flyway.schemas", () -> SCHEMA);
    }

    @BeforeAll
    static void dropSchemasOfEarlierRuns() throws Exception {
        try (Connection c = DriverManager.getConnection(URL, System.getenv("GLIMPSE_TEST_POSTGRES_USER"),
                System.getenv("GLIMPSE_TEST_POSTGRES_PASSWORD")); Statement s = c.createStatement()) {
            List<String> old = new java.util.ArrayList<>();
            var rs = s.executeQuery("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'glimpse_api_%'");
            while (rs.next()) if (!rs.getString(1).equals(SCHEMA)) old.add(rs.getString(1));
            for (String schema : old) s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @LocalServerPort
    int port;

    @Test
    void batchesAndCaptionJobsRunWithTheirStateInPostgres() throws Exception {
        JobApiClient api = new JobApiClient(port);
        String line = BatchApiTest.line("pg-1", "/v1/chat/completions", BatchApiTest.chatBody("How many shapes are there?", null, 4));
        JsonNode file = api.ok(api.postMultipart("/v1/files", Map.of("purpose", "batch"), "in.jsonl",
                (line + "\nnot json\n").getBytes(StandardCharsets.UTF_8)));
        String batch = api.ok(api.postJson("/v1/batches", "{\"input_file_id\":\"" + file.get("id").asText()
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}")).get("id").asText();
        JsonNode done = api.await("/v1/batches/" + batch, b -> b.get("status").asText().equals("completed"), Duration.ofSeconds(60));
        assertEquals(1, done.at("/request_counts/completed").asInt(), done.toString());
        assertEquals(1, done.at("/request_counts/failed").asInt(), done.toString());
        List<JsonNode> out = JobApiClient.jsonl(api.get("/v1/files/" + done.get("output_file_id").asText() + "/content").body());
        assertEquals("pg-1", out.get(0).get("custom_id").asText());
        assertEquals(200, out.get(0).at("/response/status_code").asInt());

        Path dir = Files.createTempDirectory(ApiTestSupport.CAPTION_ROOT, "pg");
        for (int i = 0; i < 3; i++) Files.write(dir.resolve("p" + i + ".png"), CaptionJobApiTest.png(60 + 8 * i, 60, Color.RED, i));
        String job = api.ok(api.postJson("/v1/caption-jobs", "{\"source\":{\"folder\":\"" + dir + "\"},\"max_tokens\":3}"))
                .get("id").asText();
        JsonNode finished = api.await("/v1/caption-jobs/" + job, j -> j.get("status").asText().equals("completed"), Duration.ofSeconds(60));
        assertEquals(3, finished.at("/progress/completed").asInt(), finished.toString());
        assertEquals(3, JobApiClient.jsonl(api.get("/v1/caption-jobs/" + job + "/results").body()).size());

        // The state really is in PostgreSQL, in this test's schema.
        try (Connection c = DriverManager.getConnection(URL, System.getenv("GLIMPSE_TEST_POSTGRES_USER"),
                System.getenv("GLIMPSE_TEST_POSTGRES_PASSWORD")); Statement s = c.createStatement()) {
            var rs = s.executeQuery("SELECT COUNT(*) FROM " + SCHEMA + ".job_items WHERE state <> 0");
            rs.next();
            assertEquals(5, rs.getInt(1));
        }
    }
}
