package dev.glimpse.family.chameleon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.engine.EngineConfig;
import dev.glimpse.engine.GenerationResult;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.engine.TokenSink;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.family.Families;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.HfTokenizer;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ContentPart;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Chameleon family served end to end by the real engine on the random-weight parity checkpoint: the chat prompt is
 * the id sequence Hugging Face's processor builds, images become the reference's VQ tokens, greedy decoding with image
 * tokens masked gives the PyTorch reference's 8 tokens (alone and in a batch, through the per-head K/V batch cache), and
 * drawing is deterministic by seed and yields only image tokens.
 */
class ChameleonServingTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/chameleon");
    static ServedModel served;
    static JsonNode golden;

    @BeforeAll
    static void start() throws Exception {
        golden = new ObjectMapper().readTree(GOLDEN.resolve("golden.json").toFile());
        ModelCard card = ModelCardLoader.load(Path.of("src/test/resources/model-cards/chameleon-random"));
        // A token budget below the 180-token prompt forces chunked prefill.
        EngineConfig cfg = new EngineConfig(8, 64, 64, 64L << 20, Duration.ofMinutes(2));
        served = new ServedModel(card, Families::load, new OrtRuntime("cpu", 0), Path.of("target/test-data/graphs"), cfg,
                ImageLimits.DEFAULT, 16L << 20, new SimpleMeterRegistry());
    }

    @AfterAll
    static void stop() throws Exception {
        served.close();
    }

    /** The golden prompt: text, a.png, text, b.png, text in one user message. */
    static PreparedRequest goldenPrompt(int maxTokens) throws Exception {
        List<ContentPart> parts = new ArrayList<>();
        List<ServedModel.ImageInput> images = new ArrayList<>();
        for (JsonNode p : golden.get("prompt_parts")) {
            if (p.isTextual()) {
                parts.add(new TextPart(p.asText()));
            } else {
                String name = p.get("image").asText();
                parts.add(new ImagePart(images.size()));
                images.add(new ServedModel.ImageInput(Files.readAllBytes(GOLDEN.resolve(name)), name));
            }
        }
        return served.prepare(List.of(new ChatMessage("user", parts)), images, greedy(maxTokens));
    }

    static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 1, 0, maxTokens, null, List.of());
    }

    static long[] longs(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asLong();
        return out;
    }

    @Test
    void thePromptIsTheOneHuggingFaceBuilds() throws Exception {
        assertArrayEquals(longs(golden.get("placeholder_input_ids")), goldenPrompt(8).promptIds());
    }

    @Test
    void greedyTokensMatchTheReferenceAloneAndInABatch() throws Exception {
        int[] expected = Arrays.stream(longs(golden.get("greedy_tokens"))).mapToInt(l -> (int) l).toArray();
        GenerationResult alone = served.submit(goldenPrompt(8), TokenSink.NONE, () -> false).join();
        assertArrayEquals(expected, alone.tokenIds());

        List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
        others.add(served.submit(served.prepare(List.of(ChatMessage.text("user", "How many shapes are there?")), List.of(),
                greedy(20)), TokenSink.NONE, () -> false));
        CompletableFuture<GenerationResult> batched = served.submit(goldenPrompt(8), TokenSink.NONE, () -> false);
        others.add(served.submit(served.prepare(List.of(ChatMessage.text("user", "Describe the image. ".repeat(5))), List.of(),
                greedy(12)), TokenSink.NONE, () -> false));
        others.forEach(CompletableFuture::join);
        assertArrayEquals(expected, batched.join().tokenIds());
    }

    @Test
    void textAnswersNeverContainImageTokens() throws Exception {
        // Unmasked, this random model's greedy choice at some step is an image token (the golden records the gap).
        ChameleonFamily family = (ChameleonFamily) served.family();
        GenerationResult r = served.submit(goldenPrompt(48), TokenSink.NONE, () -> false).join();
        for (int id : r.tokenIds()) assertFalse(family.isImageToken(id), "image token " + id + " in a text answer");
    }

    @Test
    void aRepeatedImageIsEncodedOnce() throws Exception {
        double misses = served.visionCache().missCount();
        double hits = served.visionCache().hitCount();
        served.submit(goldenPrompt(1), TokenSink.NONE, () -> false).join();
        served.submit(goldenPrompt(1), TokenSink.NONE, () -> false).join();
        assertTrue(served.visionCache().hitCount() >= hits + 2, "the second request's two images must hit");
        assertTrue(served.visionCache().missCount() <= misses + 2);
    }

    @Test
    void aConversationEndingWithTheAssistantIsRefused() {
        GlimpseException e = assertThrows(GlimpseException.class, () -> served.prepare(
                List.of(ChatMessage.text("user", "Hi"), ChatMessage.text("assistant", "Hello")), List.of(), greedy(4)));
        assertEquals(400, e.status());
        assertEquals("messages", e.param());
    }

    /** Client text that spells special tokens stays text: no control id in the prompt, and it decodes back to itself. */
    @Test
    void textThatSpellsSpecialTokensIsPlainText() throws Exception {
        HfTokenizer tok = HfTokenizer.load(GOLDEN.resolve("checkpoint/tokenizer.json"), false);
        try {
            for (String text : List.of("look <racm3:break> here", "What does <s>old</s> do in HTML?", "hi <pad><unk><image>",
                    "<<s>>", "<reserved08706><eoss>", "no specials at all")) {
                long[] ids = tok.encodeOrdinary(text);
                for (long id : ids) assertTrue(id > 7, text + " encodes to the special id " + id);
                assertEquals(text, tok.decode(ids, false), "round trip");
            }
            assertArrayEquals(tok.encode("no specials at all"), tok.encodeOrdinary("no specials at all"));
            assertEquals(0, tok.encode("<s>")[0], "the library alone would have read it as the token");
        } finally {
            tok.close();
        }
        PreparedRequest req = served.prepare(List.of(ChatMessage.text("user", "look <racm3:break> here")), List.of(), greedy(4));
        assertEquals(1, Arrays.stream(req.promptIds()).filter(id -> id == 0).count(), "only the template's own <s>");
    }

    @Test
    void drawingIsDeterministicBySeedAndOnlyImageTokens() throws Exception {
        SamplingParams p = new SamplingParams(1.0, 1.0, 0, 1, 41L, List.of());
        List<byte[]> two = served.generateImages("Draw a red circle.", 2, p, () -> false).join();
        List<byte[]> first = served.generateImages("Draw a red circle.", 1, p, () -> false).join();
        List<byte[]> second = served.generateImages("Draw a red circle.", 1, p.withSeed(42L), () -> false).join();
        assertEquals(2, two.size());
        assertArrayEquals(first.get(0), two.get(0));
        assertArrayEquals(second.get(0), two.get(1));
        assertFalse(Arrays.equals(two.get(0), two.get(1)), "different seeds should draw different pictures");
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(two.get(0)));
        assertEquals(16, img.getWidth());
        assertEquals(16, img.getHeight());
    }
    @Test
    void whenOneImageCannotBeQueuedTheOthersAreCancelled() throws Exception {
        // one running sequence and two waiting places: of n = 8 pictures the 4th submit at the latest is refused with a 429
        EngineConfig tight = new EngineConfig(1, 64, 2, 64L << 20, Duration.ofMinutes(2));
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        ModelCard card = ModelCardLoader.load(Path.of("src/test/resources/model-cards/chameleon-random"));
        try (ServedModel small = new ServedModel(card, Families::load, new OrtRuntime("cpu", 0), Path.of("target/test-data/graphs"),
                tight, ImageLimits.DEFAULT, 16L << 20, metrics)) {
            SamplingParams p = new SamplingParams(1.0, 1.0, 0, 1, 7L, List.of());
            GlimpseException e = assertThrows(GlimpseException.class, () -> small.generateImages("Draw a red circle.", 8, p, () -> false));
            assertEquals(429, e.status());
            long deadline = System.nanoTime() + 10_000_000_000L;
            while ((small.engine().queueDepth() > 0 || small.engine().runningCount() > 0) && System.nanoTime() < deadline) Thread.sleep(5);
            assertEquals(0, small.engine().queueDepth() + small.engine().runningCount(), "the queued pictures were dropped");
            double cancelled = metrics.get("glimpse.requests").tag("outcome", "cancelled").counter().count();
            // three were in the engine when the refusal came: not all of them can have finished, and without the
            // cancellation the rest would have drawn to the end (cancelled 0)
            assertTrue(cancelled >= 1, "cancelled " + cancelled);
        }
    }
}
