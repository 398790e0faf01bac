package dev.glimpse.engine;

import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real engine on the random-weight parity model: a request's greedy output is the same token for token whether it
 * runs alone or in a batch with others of different lengths, and the vision cache serves a repeated image.
 */
class BatchingInvarianceTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/kimivl");
    @TempDir
    static Path cache;
    static ServedModel served;

    @BeforeAll
    static void start() {
        ModelCard card = ModelCardLoader.load(Path.of("src/test/resources/model-cards/kimivl-random"));
        // A small token budget forces chunked prefill while others decode.
        EngineConfig cfg = new EngineConfig(8, 40, 64, 256L << 20, Duration.ofMinutes(2));
        served = new ServedModel(card, dev.glimpse.family.Families::load, new OrtRuntime("cpu", 0), cache, cfg, dev.glimpse.image.ImageLimits.DEFAULT,
                64L << 20, new SimpleMeterRegistry());
    }

    @AfterAll
    static void stop() throws Exception {
        served.close();
    }

    static ServedModel.ImageInput image(String name) throws Exception {
        return new ServedModel.ImageInput(Files.readAllBytes(GOLDEN.resolve(name)), name);
    }

    static PreparedRequest request(String text, int maxTokens, String... images) throws Exception {
        List<dev.glimpse.text.ContentPart> parts = new ArrayList<>();
        List<ServedModel.ImageInput> inputs = new ArrayList<>();
        for (String img : images) {
            parts.add(new ImagePart(inputs.size()));
            inputs.add(image(img));
        }
        parts.add(new TextPart(text));
        return served.prepare(List.of(new ChatMessage("user", parts)), inputs, new SamplingParams(0, 1, 0, maxTokens, null, List.of()));
    }

    @Test
    void greedyOutputIsTheSameAloneAndInABatch() throws Exception {
        PreparedRequest a = request("What color is the circle?", 24, "a.png", "b.png");
        GenerationResult alone = served.submit(a, TokenSink.NONE, () -> false).join();

        List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
        others.add(served.submit(request("Describe the image.", 30, "b.png"), TokenSink.NONE, () -> false));
        others.add(served.submit(request("How many shapes are there? ".repeat(6), 12), TokenSink.NONE, () -> false));
        CompletableFuture<GenerationResult> batched = served.submit(request("What color is the circle?", 24, "a.png", "b.png"),
                TokenSink.NONE, () -> false);
        others.add(served.submit(request("Read the text in the image.", 40, "a.png"), TokenSink.NONE, () -> false));
        GenerationResult inBatch = batched.join();
        others.forEach(CompletableFuture::join);

        assertEquals(alone.text(), inBatch.text());
        assertEquals(alone.completionTokens(), inBatch.completionTokens());
        assertEquals(alone.finishReason(), inBatch.finishReason());
        // The first 8 greedy tokens are the PyTorch reference's.
        String golden = ((dev.glimpse.family.kimivl.KimiVlFamily) served.family()).tokenizer().decode(new int[]{740, 661, 87, 682, 76, 236, 314, 272}, true);
        assertTrue(alone.text().startsWith(golden), "'" + alone.text() + "' should start with '" + golden + "'");
        assertTrue(served.engine().config().maxBatchedTokens() < a.promptIds().length, "prompt must need chunked prefill");
    }

    @Test
    void aRepeatedImageSkipsTheVisionEncoder() throws Exception {
        double hits = served.visionCache().hitCount();
        double misses = served.visionCache().missCount();
        served.submit(request("Describe the image.", 2, "b.png"), TokenSink.NONE, () -> false).join();
        served.submit(request("What shape is the red object?", 2, "b.png"), TokenSink.NONE, () -> false).join();
        assertTrue(served.visionCache().hitCount() >= hits + 1, "second request must hit the vision cache");
        assertTrue(served.visionCache().missCount() <= misses + 1, "at most the first request misses");
        assertTrue(served.visionCache().bytes() > 0);
    }

    @Test
    void aFileSentAgainIsFoundByItsBytesAndAnswersTheSame() throws Exception {
        PreparedRequest first = request("What shape is the red object?", 6, "a.png");
        GenerationResult firstAnswer = served.submit(first, TokenSink.NONE, () -> false).join();

        PreparedRequest again = request("What shape is the red object?", 6, "a.png");
        PreparedImage seen = again.images().get(0);
        assertInstanceOf(VisionCache.CachedImage.class, seen, "the same bytes must not be decoded again");
        assertEquals(first.images().get(0).key(), seen.key());
        assertEquals(first.images().get(0).tokens(), seen.tokens());
        assertArrayEquals(first.promptIds(), again.promptIds());
        assertEquals(firstAnswer.text(), served.submit(again, TokenSink.NONE, () -> false).join().text());

        // The same pixels in other bytes are decoded (no byte match) and still share the pixel key, so the encoder is
        // skipped all the same.
        java.awt.image.BufferedImage pixels = javax.imageio.ImageIO.read(GOLDEN.resolve("a.png").toFile());
        java.io.ByteArrayOutputStream bmp = new java.io.ByteArrayOutputStream();
        assertTrue(javax.imageio.ImageIO.write(pixels, "bmp", bmp));
        List<dev.glimpse.text.ContentPart> parts = List.of(new ImagePart(0), new TextPart("What shape is the red object?"));
        PreparedRequest reencoded = served.prepare(List.of(new ChatMessage("user", parts)),
                List.of(new ServedModel.ImageInput(bmp.toByteArray(), "a.bmp")), new SamplingParams(0, 1, 0, 6, null, List.of()));
        assertFalse(reencoded.images().get(0) instanceof VisionCache.CachedImage);
        assertEquals(first.images().get(0).key(), reencoded.images().get(0).key());
        double misses = served.visionCache().missCount();
        assertEquals(firstAnswer.text(), served.submit(reencoded, TokenSink.NONE, () -> false).join().text());
        assertEquals(misses, served.visionCache().missCount(), "the re-encoded image must hit by its pixels");
    }
}
