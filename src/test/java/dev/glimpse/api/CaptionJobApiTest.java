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

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static dev.glimpse.api.JobApiClient.JSON;
import static org.junit.jupiter.api.Assertions.*;

/** Caption jobs over real HTTP on the real (random-weight) model: folder and zip sources, progress, results, errors. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability
class CaptionJobApiTest {

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

    static byte[] png(int w, int h, Color shape, int seed) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(200 + seed % 50, 210, 220));
        g.fillRect(0, 0, w, h);
        g.setColor(shape);
        g.fillOval(5 + seed % 10, 5, w / 2, h / 2);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static Path folder(String name) throws Exception {
        return Files.createDirectories(Files.createTempDirectory(ApiTestSupport.CAPTION_ROOT, name));
    }

    ObjectNode job(String folder, int maxTokens) {
        ObjectNode req = JSON.createObjectNode().put("max_tokens", maxTokens);
        req.putObject("source").put("folder", folder);
        return req;
    }

    /** The greedy chat completion of the default caption prompt on one image file. */
    String directCaption(Path image, int maxTokens) throws Exception {
        ObjectNode chat = JSON.createObjectNode().put("model", ApiTestSupport.MODEL).put("max_tokens", maxTokens).put("temperature", 0);
        ArrayNode content = chat.putArray("messages").addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "image_url").putObject("image_url").put("url", "data:image/png;base64,"
                + Base64.getEncoder().encodeToString(Files.readAllBytes(image)));
        content.addObject().put("type", "text").put("text", "Describe the image.");
        return api.ok(api.postJson("/v1/chat/completions", chat.toString())).at("/choices/0/message/content").asText();
    }

    JsonNode awaitStatus(String id, String status) throws Exception {
        return api.await("/v1/caption-jobs/" + id, j -> j.get("status").asText().equals(status), Duration.ofSeconds(90));
    }

    @Test
    void aFolderJobCaptionsEveryImageAndReportsBadFilesAsRows() throws Exception {
        Path dir = folder("photos");
        Color[] colours = {Color.RED, Color.BLUE, Color.GREEN, Color.ORANGE, Color.BLACK};
        for (int i = 0; i < colours.length; i++) Files.write(dir.resolve("img" + i + ".png"), png(60 + 10 * i, 70, colours[i], i));
        Files.createDirectories(dir.resolve("sub"));
        Files.write(dir.resolve("sub/deep.png"), png(90, 60, Color.MAGENTA, 7));
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        Files.writeString(dir.resolve(".hidden.png"), "skipped");

        JsonNode created = api.ok(api.postJson("/v1/caption-jobs", job(dir.toString(), 5).toString()));
        String id = created.get("id").asText();
        assertTrue(id.startsWith("capjob_"), id);
        assertEquals("caption_job", created.get("object").asText());
        assertEquals(ApiTestSupport.MODEL, created.get("model").asText());
        assertEquals("Describe the image.", created.get("prompt").asText());
        assertEquals("folder", created.at("/source/type").asText());

        JsonNode done = awaitStatus(id, "completed");
        assertEquals(7, done.at("/progress/total").asInt(), done.toString());
        assertEquals(6, done.at("/progress/completed").asInt(), done.toString());
        assertEquals(1, done.at("/progress/failed").asInt(), done.toString());
        assertEquals(7, done.at("/progress/done").asInt(), done.toString());
        assertTrue(done.at("/progress/images_per_second").asDouble() > 0, done.toString());
        assertEquals(0, done.at("/progress/eta_seconds").asInt());
        assertTrue(done.get("finished_at").isNumber());

        List<JsonNode> rows = JobApiClient.jsonl(api.get(done.get("results_url").asText()).body());
        assertEquals(List.of("img0.png", "img1.png", "img2.png", "img3.png", "img4.png", "notes.txt", "sub/deep.png"),
                rows.stream().map(r -> r.get("path").asText()).toList());
        for (JsonNode r : rows) {
            if (r.get("path").asText().equals("notes.txt")) {
                assertTrue(r.get("caption").isNull(), r.toString());
                assertEquals(0, r.get("tokens").asInt());
                assertTrue(r.at("/error/message").asText().length() > 10, r.toString());
                continue;
            }
            assertTrue(r.get("error").isNull(), r.toString());
            assertTrue(r.get("tokens").asInt() >= 1 && r.get("tokens").asInt() <= 5, r.toString());
            // The same caption as a greedy chat completion with the job's prompt on the same image.
            assertEquals(directCaption(dir.resolve(r.get("path").asText()), 5), r.get("caption").asText(), r.toString());
        }
        assertEquals(6, JobApiClient.jsonl(api.get(done.get("results_url").asText() + "?state=completed").body()).size());
        assertEquals(1, JobApiClient.jsonl(api.get(done.get("results_url").asText() + "?state=failed").body()).size());
        assertTrue(api.ok(api.get("/v1/caption-jobs")).get("data").findValuesAsText("id").contains(id));
    }

    @Test
    void aZipUploadIsCaptionedWithTheGivenPrompt() throws Exception {
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            for (int i = 0; i < 3; i++) {
                z.putNextEntry(new ZipEntry("set/a" + i + ".png"));
                z.write(png(64, 64 + 8 * i, Color.YELLOW, i));
                z.closeEntry();
            }
        }
        JsonNode created = api.ok(api.postMultipart("/v1/caption-jobs", Map.of("prompt", "What is the leftmost shape?",
                "max_tokens", "3"), "images.zip", zip.toByteArray()));
        assertEquals("zip", created.at("/source/type").asText());
        assertEquals("What is the leftmost shape?", created.get("prompt").asText());
        JsonNode done = awaitStatus(created.get("id").asText(), "completed");
        List<JsonNode> rows = JobApiClient.jsonl(api.get(done.get("results_url").asText()).body());
        assertEquals(List.of("set/a0.png", "set/a1.png", "set/a2.png"), rows.stream().map(r -> r.get("path").asText()).toList());
        rows.forEach(r -> assertTrue(r.get("tokens").asInt() >= 1 && r.get("tokens").asInt() <= 3, r.toString()));

        // The same zip by file id.
        JsonNode file = api.ok(api.postMultipart("/v1/files", Map.of("purpose", "caption_source"), "images.zip", zip.toByteArray()));
        ObjectNode byId = JSON.createObjectNode().put("max_tokens", 3);
        byId.putObject("source").put("file_id", file.get("id").asText());
        JsonNode again = awaitStatus(api.ok(api.postJson("/v1/caption-jobs", byId.toString())).get("id").asText(), "completed");
        assertEquals(3, again.at("/progress/completed").asInt(), again.toString());
    }

    @Test
    void aZipThatEscapesItsFolderFailsTheJob() throws Exception {
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.putNextEntry(new ZipEntry("../../escape.png"));
            z.write(png(56, 56, Color.RED, 1));
            z.closeEntry();
        }
        JsonNode created = api.ok(api.postMultipart("/v1/caption-jobs", Map.of(), "evil.zip", zip.toByteArray()));
        JsonNode failed = awaitStatus(created.get("id").asText(), "failed");
        assertTrue(failed.get("error").asText().contains("outside"), failed.toString());
    }

    @Test
    void foldersOutsideTheAllowedRootAre400() throws Exception {
        Path outside = Files.createTempDirectory(ApiTestSupport.RUN_DIR, "outside");
        Files.write(outside.resolve("x.png"), png(56, 56, Color.RED, 1));
        api.error(api.postJson("/v1/caption-jobs", job(outside.toString(), 2).toString()), 400, "folder_not_allowed");
        api.error(api.postJson("/v1/caption-jobs", job(ApiTestSupport.CAPTION_ROOT + "/../" + outside.getFileName(), 2).toString()),
                400, "folder_not_allowed");
        api.error(api.postJson("/v1/caption-jobs", job("/etc", 2).toString()), 400, "folder_not_allowed");
        Path link = ApiTestSupport.CAPTION_ROOT.resolve("link-out-" + System.nanoTime());
        Files.createSymbolicLink(link, outside);
        api.error(api.postJson("/v1/caption-jobs", job(link.toString(), 2).toString()), 400, "folder_not_allowed");
        api.error(api.postJson("/v1/caption-jobs", job(ApiTestSupport.CAPTION_ROOT.resolve("missing").toString(), 2).toString()),
                400, "folder_not_found");
    }

    @Test
    void invalidJobRequestsAre4xx() throws Exception {
        Path dir = folder("valid");
        Files.write(dir.resolve("a.png"), png(56, 56, Color.RED, 1));
        api.error(api.postJson("/v1/caption-jobs", "{}"), 400, "invalid_value");
        api.error(api.postJson("/v1/caption-jobs", "{\"source\":{\"folder\":\"" + dir + "\",\"file_id\":\"x\"}}"), 400, "invalid_value");
        api.error(api.postJson("/v1/caption-jobs", job(dir.toString(), 0).toString()), 400, "invalid_value");
        api.error(api.postJson("/v1/caption-jobs", job(dir.toString(), 2).put("model", "nope").toString()), 404, "model_not_found");
        api.error(api.postJson("/v1/caption-jobs", job(dir.toString(), 2).put("prompt", "").toString()), 400, "invalid_value");
        api.error(api.postJson("/v1/caption-jobs", "{\"source\":{\"file_id\":\"file-doesnotexist\"}}"), 404, "file_not_found");
        api.error(api.postMultipart("/v1/caption-jobs", Map.of(), "not.zip", "plain text".getBytes()), 400, "invalid_zip");
        // a zip upload whose other fields are rejected leaves no stored file behind
        int sources = api.ok(api.get("/v1/files?purpose=caption_source")).get("data").size();
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.putNextEntry(new ZipEntry("a.png"));
            z.write(png(56, 56, Color.RED, 1));
            z.closeEntry();
        }
        api.error(api.postMultipart("/v1/caption-jobs", Map.of("max_tokens", "0"), "a.zip", zip.toByteArray()), 400, "invalid_value");
        api.error(api.postMultipart("/v1/caption-jobs", Map.of("model", "nope"), "a.zip", zip.toByteArray()), 404, "model_not_found");
        assertEquals(sources, api.ok(api.get("/v1/files?purpose=caption_source")).get("data").size());
        api.error(api.get("/v1/caption-jobs/capjob_doesnotexist"), 404, "job_not_found");
        api.error(api.get("/v1/caption-jobs/capjob_doesnotexist/results"), 404, "job_not_found");
        api.error(api.postJson("/v1/caption-jobs/capjob_doesnotexist/cancel", ""), 404, "job_not_found");
        api.error(api.delete("/v1/caption-jobs/capjob_doesnotexist"), 404, "job_not_found");
    }

    @Test
    void aJobCanBeCancelledAndDeleted() throws Exception {
        Path dir = folder("many");
        for (int i = 0; i < 120; i++) Files.write(dir.resolve(String.format("p%03d.png", i)), png(56 + i % 40, 64, Color.BLUE, i));
        String id = api.ok(api.postJson("/v1/caption-jobs", job(dir.toString(), 48).toString())).get("id").asText();
        api.await("/v1/caption-jobs/" + id, j -> j.at("/progress/done").asInt() >= 1, Duration.ofSeconds(60));
        JsonNode c = api.ok(api.postJson("/v1/caption-jobs/" + id + "/cancel", ""));
        assertTrue(List.of("cancelling", "cancelled").contains(c.get("status").asText()), c.toString());
        JsonNode cancelled = awaitStatus(id, "cancelled");
        int done = cancelled.at("/progress/done").asInt();
        assertTrue(done >= 1 && done < 120, cancelled.toString());
        List<JsonNode> rows = JobApiClient.jsonl(api.get("/v1/caption-jobs/" + id + "/results").body());
        assertEquals(done, rows.size());
        // Captions cut short by the cancel are not results: every row is the whole greedy caption.
        for (JsonNode r : rows) assertEquals(directCaption(dir.resolve(r.get("path").asText()), 48), r.get("caption").asText(), r.toString());

        JsonNode del = api.ok(api.delete("/v1/caption-jobs/" + id));
        assertTrue(del.get("deleted").asBoolean());
        api.error(api.get("/v1/caption-jobs/" + id), 404, "job_not_found");
        assertTrue(Files.exists(dir.resolve("p000.png")), "deleting a job never touches its source folder");
    }
}
