package dev.glimpse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The bench command's code path end to end on the random-weight test model, one run of each measurement at toy sizes:
 * every figure comes out positive, the table is printed and the JSON written. No timing thresholds: speed is what the
 * command measures, not what a unit test can assert on a shared machine.
 */
class BenchCommandTest {

    @TempDir
    Path out;

    @Test
    void measuresEveryFigureOnceAndReportsPositiveNumbers() throws Exception {
        Path json = out.resolve("report.json");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ObjectNode results;
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            results = BenchCommand.runForTest(new String[]{
                    "--model", "kimivl-random", "--model-dir", "src/test/resources/model-cards", "--data-dir", "target/test-data",
                    "--out-dir", out.toString(), "--json", json.toString(), "--runs", "1", "--server", "inprocess",
                    "--only", "preprocess,decode,context,ttft,throughput", "--max-tokens", "32", "--clients", "2", "--requests", "1",
                    "--contexts", "16,32", "--context-tokens", "3", "--image", "112x84", "--pre-images", "2",
                    "--pre-size", "300x200", "--resize-limit", "100"}, ps);
        }
        String table = buf.toString(StandardCharsets.UTF_8);
        for (String key : List.of("preprocess_single_img_s", "preprocess_pool_img_s", "preprocess_resize_single_img_s",
                "decode_tok_s", "decode_ms_per_token_ctx_16", "decode_ms_per_token_ctx_32", "ttft_seen_ms", "ttft_new_ms",
                "ttft_ratio", "http_1_client_tok_s", "http_2_clients_tok_s", "http_ratio", "peak_rss_mib", "kv_cache_bytes_peak")) {
            JsonNode r = results.get(key);
            assertNotNull(r, key + " missing from " + results.fieldNames());
            double v = r.get("value").asDouble();
            assertTrue(v > 0 && Double.isFinite(v), key + " = " + v);
        }
        assertTrue(table.contains("decode tokens/s, batch 1"), table);
        JsonNode written = BenchReport.JSON.readTree(json.toFile());
        assertEquals(results.get("decode_tok_s").get("value").asDouble(), written.get("results").get("decode_tok_s").get("value").asDouble());
        assertEquals("kimivl-random", written.get("config").get("model").asText());
        // inputs.json for the Python references: the prompt ids of the decode figure and the preprocessing images
        JsonNode inputs = BenchReport.JSON.readTree(out.resolve("inputs.json").toFile());
        assertTrue(inputs.get("prompt_ids").size() > 10);
        assertEquals(2, inputs.get("preprocess").get("images").size());
        assertTrue(Files.size(Path.of(inputs.get("prompt_image").asText())) > 0);
    }
}
