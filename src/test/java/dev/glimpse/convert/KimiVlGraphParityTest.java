package dev.glimpse.convert;

import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.runtime.KvCache;
import dev.glimpse.runtime.OrtRuntime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Graph parity with the PyTorch reference (training/make_tiny_kimivl.py): the random-weight checkpoint is converted in Java,
 * run in ONNX Runtime, and compared to golden outputs at 1e-4 max abs (fp32). Inputs are the reference's own pixel_values
 * and input_ids, so this isolates the converter and runtime from preprocessing and tokenization (tested elsewhere).
 */
class KimiVlGraphParityTest {

    static final Path CHECKPOINT = Path.of("src/test/resources/golden/kimivl/checkpoint");
    static final Path GOLDEN = Path.of("src/test/resources/golden/kimivl/golden.safetensors");
    static final double TOL = 1e-4;

    @TempDir
    static Path graphs;
    static KimiVlModel model;
    static SafeTensors golden;
    static KimiVlConfig config;

    @BeforeAll
    static void convert() throws Exception {
        KimiVlConverter.convert(CHECKPOINT, graphs, "fp32");
        config = KimiVlConfig.load(CHECKPOINT);
        model = new KimiVlModel(new OrtRuntime("cpu", 0), config, graphs);
        golden = SafeTensors.open(GOLDEN);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
    }

    static List<int[]> grids() {
        long[] g = SafeTensors.toLongs(golden.entry("grid_hws"));
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < g.length; i += 2) out.add(new int[]{(int) g[i], (int) g[i + 1]});
        return out;
    }

    static float[] features() {
        return model.encodeImages(golden.floats("pixel_values"), grids());
    }

    @Test
    void visionFeaturesOfTwoPackedImagesMatchReference() {
        float[] expected = golden.floats("image_features");
        float[] actual = features();
        assertEquals(expected.length, actual.length);
        double err = maxAbs(expected, actual);
        System.out.printf("vision features: %d values, max abs err %.3e%n", actual.length, err);
        assertTrue(err < TOL, "max abs err " + err);
    }

    @Test
    void prefillLogitsAndGreedyDecodeThroughCacheMatchReference() {
        long[] ids = SafeTensors.toLongs(golden.entry("input_ids"));
        int s = ids.length;
        int hidden = config.text().hidden();
        int vocab = config.text().vocabSize();
        float[] embeds = mergedEmbeds(ids, features(), hidden);

        try (KvCache cache = model.newCache()) {
            float[] logits = model.step(cache, embeds, s, s);
            double prefillErr = maxAbs(golden.floats("prefill_logits"), logits);
            System.out.printf("prefill logits: %d x %d, max abs err %.3e%n", s, vocab, prefillErr);
            assertTrue(prefillErr < TOL, "prefill max abs err " + prefillErr);

            long[] expectedTokens = SafeTensors.toLongs(golden.entry("greedy_tokens"));
            float[] expectedStepLogits = golden.floats("decode_logits");
            float[] last = Arrays.copyOfRange(logits, (s - 1) * vocab, s * vocab);
            double decodeErr = 0;
            long[] got = new long[expectedTokens.length];
            for (int step = 0; step < expectedTokens.length; step++) {
                decodeErr = Math.max(decodeErr, maxAbs(Arrays.copyOfRange(expectedStepLogits, step * vocab, (step + 1) * vocab), last));
                got[step] = argmax(last);
                if (step + 1 < expectedTokens.length) {
                    last = model.step(cache, model.embed(new long[]{got[step]}), 1, 1);
                }
            }
            System.out.printf("greedy decode: tokens %s, max abs err of step logits %.3e, cache %d tokens%n",
                    Arrays.toString(got), decodeErr, cache.length());
            assertArrayEquals(expectedTokens, got);
            assertTrue(decodeErr < TOL, "decode max abs err " + decodeErr);
            assertEquals(s + expectedTokens.length - 1, cache.length());
        }
    }

    /** inputs_embeds with image features written over the placeholder rows, in order. */
    static float[] mergedEmbeds(long[] ids, float[] feats, int hidden) {
        float[] embeds = model.embed(ids);
        int row = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == config.mediaPlaceholderTokenId()) {
                System.arraycopy(feats, row * hidden, embeds, i * hidden, hidden);
                row++;
            }
        }
        assertEquals(feats.length / hidden, row, "placeholder count must equal image feature rows");
        return embeds;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length, "length");
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
