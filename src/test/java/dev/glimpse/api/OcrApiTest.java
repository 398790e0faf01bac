package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.image.OpenCvLoader;
import org.junit.jupiter.api.Test;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code POST /v1/ocr} over real HTTP with the real PP-OCRv4 models (installed by the build) and the random-weight chat
 * model for engine=vlm: the committed photo-like image is read exactly; bad input gets 4xx in the API's error shape.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability // same annotations and properties as the other API tests, so the context is shared
class OcrApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Path PHOTO = Path.of("src/test/resources/ocr/photo.jpg");

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        ApiTestSupport.properties(r);
    }

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    URI uri(String query) {
        return URI.create("http://127.0.0.1:" + port + "/v1/ocr" + (query.isEmpty() ? "" : "?" + query));
    }

    /** multipart/form-data with the image as part "file" and the given form fields (name, value, name, value...). */
    HttpResponse<String> multipart(byte[] image, String filename, String... fields) throws Exception {
        Map<String, String> form = new LinkedHashMap<>();
        for (int i = 0; i < fields.length; i += 2) form.put(fields[i], fields[i + 1]);
        return new JobApiClient(port).postMultipart("/v1/ocr", form, filename, image);
    }

    HttpResponse<String> json(ObjectNode body, String query) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(query)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String dataUrl(byte[] bytes, String mime) {
        return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(bytes);
    }

    static String groundTruth() throws Exception {
        return Files.readString(Path.of("src/test/resources/ocr/photo.gt.txt"), StandardCharsets.UTF_8).strip();
    }

    JsonNode expectError(HttpResponse<String> r, int status, String code, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertNotNull(err, r.body());
        assertTrue(err.has("message") && err.has("type") && err.has("param") && err.has("code"), r.body());
        assertEquals(code, err.get("code").asText(), r.body());
        if (param != null) assertEquals(param, err.get("param").asText(), r.body());
        return err;
    }

    @Test
    void readsThePhotoFromAMultipartUpload() throws Exception {
        HttpResponse<String> r = multipart(Files.readAllBytes(PHOTO), "photo.jpg");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = JSON.readTree(r.body());
        assertEquals(groundTruth(), root.get("text").asText());
        assertEquals("ppocr", root.get("engine").asText());
        String[] expected = groundTruth().split("\n");
        JsonNode lines = root.get("lines");
        assertEquals(expected.length, lines.size(), r.body());
        int previousY = -1;
        for (int i = 0; i < expected.length; i++) {
            JsonNode l = lines.get(i);
            assertEquals(expected[i], l.get("text").asText());
            double c = l.get("confidence").asDouble();
            assertTrue(c > 0.8 && c <= 1, r.body());
            JsonNode box = l.get("box");
            assertEquals(4, box.size());
            for (JsonNode pt : box) {
                assertEquals(2, pt.size());
                assertTrue(pt.get(0).asInt() >= 0 && pt.get(0).asInt() < 900 && pt.get(1).asInt() >= 0 && pt.get(1).asInt() < 420, r.body());
            }
            assertTrue(box.get(0).get(1).asInt() > previousY, "lines come top to bottom: " + r.body());
            previousY = box.get(0).get(1).asInt();
        }
        for (String k : new String[]{"decode_ms", "det_ms", "rec_ms", "total_ms"}) assertTrue(root.get("timings").has(k), r.body());
    }

    @Test
    void readsThePhotoFromAJsonDataUrlWithDetailText() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("image", dataUrl(Files.readAllBytes(PHOTO), "image/jpeg"))
                .put("detail", "text").put("min_confidence", 0.6);
        HttpResponse<String> r = json(body, "");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = JSON.readTree(r.body());
        assertEquals(groundTruth(), root.get("text").asText());
        assertFalse(root.has("lines"), r.body());
        // options may also come as query parameters; a min_confidence of 1 drops every line
        HttpResponse<String> strict = json(JSON.createObjectNode().put("image", dataUrl(Files.readAllBytes(PHOTO), "image/jpeg")),
                "min_confidence=1");
        assertEquals(200, strict.statusCode(), strict.body());
        assertEquals(0, JSON.readTree(strict.body()).get("lines").size(), strict.body());
    }

    @Test
    void notAnImageIs400() throws Exception {
        expectError(multipart("this is plain text, not an image".getBytes(StandardCharsets.UTF_8), "notes.txt"),
                400, "invalid_image", "file");
        expectError(json(JSON.createObjectNode().put("image", dataUrl("hello".getBytes(StandardCharsets.UTF_8), "image/png")), ""),
                400, "invalid_image", "image");
    }

    @Test
    void anImageOverThePixelLimitIsRefusedFromItsHeader() throws Exception {
        // 8000 x 6000 = 48 MP > the 40 MP limit, each side under 16384; the file is only the PNG header, so a 413 here
        // proves nothing was decoded
        byte[] bomb = BadInputTest.pngHeaderOnly(8000, 6000);
        JsonNode err = expectError(multipart(bomb, "big.png"), 413, "image_too_large", "file");
        assertTrue(err.get("message").asText().contains("8000x6000"), err.toString());
        expectError(json(JSON.createObjectNode().put("image", dataUrl(bomb, "image/png")), ""), 413, "image_too_large", "image");
    }

    @Test
    void anImageWithNoTextGivesEmptyLines() throws Exception {
        OpenCvLoader.ensureLoaded();
        // a textured, shaded background: gradient plus Gaussian noise, no text
        Mat img = new Mat(240, 320, CvType.CV_8UC3);
        for (int y = 0; y < 240; y++) {
            byte[] row = new byte[320 * 3];
            for (int x = 0; x < 320; x++) {
                row[x * 3] = (byte) (150 + x / 8);
                row[x * 3 + 1] = (byte) (170 + y / 8);
                row[x * 3 + 2] = (byte) 190;
            }
            img.put(y, 0, row);
        }
        Mat noise = new Mat(240, 320, CvType.CV_8UC3);
        Core.randn(noise, 0, 8);
        Core.add(img, noise, img);
        MatOfByte png = new MatOfByte();
        Imgcodecs.imencode(".png", img, png);
        HttpResponse<String> r = multipart(png.toArray(), "blank.png");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = JSON.readTree(r.body());
        assertEquals("", root.get("text").asText(), r.body());
        assertEquals(0, root.get("lines").size(), r.body());
    }

    @Test
    void unknownEngineIs400ListingTheValidOnes() throws Exception {
        JsonNode err = expectError(multipart(Files.readAllBytes(PHOTO), "photo.jpg", "engine", "tesseract"), 400, "invalid_value", "engine");
        String m = err.get("message").asText();
        assertTrue(m.contains("ppocr") && m.contains("vlm") && m.contains("tesseract"), m);
        expectError(json(JSON.createObjectNode().put("image", dataUrl(Files.readAllBytes(PHOTO), "image/jpeg")).put("engine", "x"), ""),
                400, "invalid_value", "engine");
    }

    @Test
    void otherBadOptionsAndAMissingImageAre400() throws Exception {
        byte[] photo = Files.readAllBytes(PHOTO);
        expectError(multipart(photo, "photo.jpg", "min_confidence", "2"), 400, "invalid_value", "min_confidence");
        expectError(multipart(photo, "photo.jpg", "min_confidence", "high"), 400, "invalid_value", "min_confidence");
        expectError(multipart(photo, "photo.jpg", "detail", "words"), 400, "invalid_value", "detail");
        expectError(multipart(null, null, "engine", "ppocr"), 400, "missing_image", "file");
        expectError(json(JSON.createObjectNode().put("detail", "text"), ""), 400, "missing_image", "image");
    }

    @Test
    void engineVlmAsksTheChatModel() throws Exception {
        // the test model has random weights: its text is arbitrary, only the shape of the answer is checked
        HttpResponse<String> r = multipart(Files.readAllBytes(PHOTO), "photo.jpg", "engine", "vlm", "max_tokens", "4");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = JSON.readTree(r.body());
        assertEquals("vlm", root.get("engine").asText());
        assertTrue(root.get("text").isTextual(), r.body());
        assertEquals(ApiTestSupport.MODEL, root.get("model").asText());
        for (JsonNode l : root.get("lines")) assertFalse(l.has("box"), r.body());
        HttpResponse<String> j = json(JSON.createObjectNode().put("image", dataUrl(Files.readAllBytes(PHOTO), "image/jpeg"))
                .put("engine", "vlm").put("max_tokens", 2), "");
        assertEquals(200, j.statusCode(), j.body());
        assertEquals("vlm", JSON.readTree(j.body()).get("engine").asText());
    }
}
