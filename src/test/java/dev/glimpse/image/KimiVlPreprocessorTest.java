package dev.glimpse.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KimiVlPreprocessorTest {

    private static final float[] HALF = {0.5f, 0.5f, 0.5f};

    /** Kimi-VL-A3B settings: p 14, merge 2x2, mean = std = 0.5, pad. */
    private static KimiVlPreprocessor kimi(int tokenLimit) {
        return new KimiVlPreprocessor(new KimiVlPreprocessorConfig(14, 2, 2, tokenLimit, HALF, HALF, true));
    }

    /** Index of (patch, channel, y, x) in the (L, 3, p, p) layout. */
    private static int at(int patch, int c, int y, int x, int p) {
        return ((patch * 3 + c) * p + y) * p + x;
    }

    private static DecodedImage withPixel(DecodedImage img, int x, int y, int r, int g, int b) {
        byte[] rgb = img.rgb().clone();
        int i = (y * img.width() + x) * 3;
        rgb[i] = (byte) r;
        rgb[i + 1] = (byte) g;
        rgb[i + 2] = (byte) b;
        return new DecodedImage(img.width(), img.height(), rgb);
    }

    @Test
    void gridSizes() {
        PixelPatches a = kimi(4096).process(TestImages.solid(84, 56, 0, 0, 0)); // W 84, H 56: no padding
        assertEquals(4, a.gridH());
        assertEquals(6, a.gridW());
        assertEquals(24, a.patches());
        assertEquals(6, a.tokens());
        assertEquals(24 * 3 * 14 * 14, a.pixelValues().length);

        PixelPatches b = kimi(4096).process(TestImages.solid(70, 98, 0, 0, 0)); // pads 70 -> 84 wide, 98 -> 112 high
        assertEquals(8, b.gridH());
        assertEquals(6, b.gridW());
        assertEquals(12, b.tokens());
    }

    @Test
    void paddingIsExactlyMinusOneForHalfMeanAndStd() {
        // 5x5 white image -> padded to 28x28: grid 2x2, one token; only patch 0's top-left 5x5 corner is image.
        PixelPatches out = kimi(4096).process(TestImages.solid(5, 5, 255, 255, 255));
        assertEquals(2, out.gridH());
        assertEquals(2, out.gridW());
        assertEquals(1, out.tokens());
        float[] v = out.pixelValues();
        int p = 14;
        int image = 0;
        int padding = 0;
        for (int patch = 0; patch < 4; patch++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < p; y++) {
                    for (int x = 0; x < p; x++) {
                        float value = v[at(patch, c, y, x, p)];
                        if (patch == 0 && y < 5 && x < 5) {
                            assertEquals(1.0f, value, 0f); // (255/255 - 0.5) / 0.5
                            image++;
                        } else {
                            assertEquals(-1.0f, value, 0f);
                            padding++;
                        }
                    }
                }
            }
        }
        assertEquals(75, image);
        assertEquals(4 * 3 * 196 - 75, padding);
    }

    @Test
    void knownPixelLandsAtItsPatchChannelRowColumn() {
        // Pixel (x 31, y 17) of an 84x56 grey image: patch row 17/14 = 1, patch col 31/14 = 2 -> patch 1*6 + 2 = 8,
        // inside it y 17 % 14 = 3, x 31 % 14 = 3.
        DecodedImage img = withPixel(TestImages.solid(84, 56, 128, 128, 128), 31, 17, 10, 200, 255);
        float[] v = kimi(4096).process(img).pixelValues();
        assertEquals((10 / 255.0f - 0.5f) / 0.5f, v[at(8, 0, 3, 3, 14)], 0f);
        assertEquals((200 / 255.0f - 0.5f) / 0.5f, v[at(8, 1, 3, 3, 14)], 0f);
        assertEquals(1.0f, v[at(8, 2, 3, 3, 14)], 0f);
        float grey = (128 / 255.0f - 0.5f) / 0.5f;
        assertEquals(grey, v[at(8, 0, 3, 4, 14)], 0f);
        assertEquals(grey, v[at(8, 0, 4, 3, 14)], 0f);
        assertEquals(grey, v[at(7, 0, 3, 3, 14)], 0f);
        int differing = 0;
        for (float f : v) {
            if (f != grey) {
                differing++;
            }
        }
        assertEquals(3, differing);
    }

    @Test
    void normalisationIsFloat32AsTorchvision() {
        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
        float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
        KimiVlPreprocessor pre = new KimiVlPreprocessor(new KimiVlPreprocessorConfig(14, 2, 2, 4096, mean, std, true));
        float[] v = pre.process(TestImages.solid(28, 28, 37, 101, 250)).pixelValues();
        assertEquals(Float.floatToIntBits((37 / 255.0f - mean[0]) / std[0]), Float.floatToIntBits(v[at(0, 0, 0, 0, 14)]));
        assertEquals(Float.floatToIntBits((101 / 255.0f - mean[1]) / std[1]), Float.floatToIntBits(v[at(3, 1, 13, 13, 14)]));
        assertEquals(Float.floatToIntBits((250 / 255.0f - mean[2]) / std[2]), Float.floatToIntBits(v[at(2, 2, 5, 9, 14)]));
    }

    @Test
    void underTheTokenLimitThereIsNoResize() {
        // 1000x800: (1000/14)*(800/14) = 71*57 = 4047 <= 4096, so no resize; pad to 1008x812 -> grid 58x72.
        PixelPatches out = kimi(4096).process(TestImages.solid(1000, 800, 0, 0, 0));
        assertEquals(58, out.gridH());
        assertEquals(72, out.gridW());
        assertEquals(4176, out.patches());
        assertEquals(1044, out.tokens());
    }

    @Test
    void overTheTokenLimitTheImageIsScaledDown() {
        // 1000x800 with limit 1024: s = sqrt(1024/4047) = 0.50302; (int)(1000 s) = 503, (int)(800 s) = 402;
        // pad to 504x420 -> grid 30x36, 270 tokens.
        KimiVlPreprocessor small = kimi(1024);
        DecodedImage scaled = small.fitTokenLimit(TestImages.solid(1000, 800, 9, 9, 9));
        assertEquals(503, scaled.width());
        assertEquals(402, scaled.height());
        PixelPatches out = small.process(TestImages.solid(1000, 800, 9, 9, 9));
        assertEquals(30, out.gridH());
        assertEquals(36, out.gridW());
        assertEquals(270, out.tokens());

        // 2000x1500 with the real limit 4096: 142*107 = 15194 patches, s = 0.51921 -> 1038x778 -> pad 1064x784,
        // grid 56x76, 1064 tokens.
        PixelPatches big = kimi(4096).process(TestImages.solid(2000, 1500, 9, 9, 9));
        assertEquals(56, big.gridH());
        assertEquals(76, big.gridW());
        assertEquals(1064, big.tokens());
    }

    @Test
    void extremeAspectRatioIsRefused() {
        // 7200x28: 514*2 = 1028 patches (no resize), padded to 7224 wide = 516 patches >= 512.
        GlimpseException e = assertThrows(GlimpseException.class,
                () -> kimi(4096).process(TestImages.solid(7200, 28, 0, 0, 0)));
        assertEquals(400, e.status());
        assertEquals("invalid_image", e.code());
        // 7140 wide pads to 7140 = 510 patches: accepted.
        assertEquals(510, kimi(4096).process(TestImages.solid(7140, 28, 0, 0, 0)).gridW());
    }

    @Test
    void withoutPaddingTheImageIsCenterCroppedToTheMergeGrid() {
        // 100x60 -> 84x56 (multiples of 28), dropping (100-84)/2 = 8 columns left and (60-56)/2 = 2 rows on top.
        KimiVlPreprocessor crop = new KimiVlPreprocessor(new KimiVlPreprocessorConfig(14, 2, 2, 4096, HALF, HALF, false));
        DecodedImage img = withPixel(TestImages.solid(100, 60, 0, 0, 0), 8, 2, 255, 255, 255);
        PixelPatches out = crop.process(img);
        assertEquals(4, out.gridH());
        assertEquals(6, out.gridW());
        assertEquals(1.0f, out.pixelValues()[at(0, 0, 0, 0, 14)], 0f);
        assertEquals(-1.0f, out.pixelValues()[at(0, 0, 0, 1, 14)], 0f);
        assertThrows(GlimpseException.class, () -> crop.process(TestImages.solid(27, 100, 0, 0, 0)));
    }

    /** End to end against training/golden_resize.py's numpy restatement of HF's processor (resize branch taken). */
    @Test
    void matchesReferenceBitForBit() throws Exception {
        String dir = "/golden/image/kimivl/";
        Path cfgPath = Path.of(KimiVlPreprocessorTest.class.getResource(dir + "preprocessor_config.json").toURI());
        KimiVlPreprocessorConfig cfg = KimiVlPreprocessorConfig.fromJson(cfgPath);
        assertEquals(16, cfg.inTokenLimit());
        DecodedImage src = ImageDecoder.decode(TestImages.resource(dir + "src.png"), ImageLimits.DEFAULT);
        assertEquals(100, src.width());
        PixelPatches out = new KimiVlPreprocessor(cfg).process(src);
        JsonNode expected = new ObjectMapper().readTree(TestImages.resource(dir + "expected.json"));
        assertEquals(expected.get("grid_h").asInt(), out.gridH());
        assertEquals(expected.get("grid_w").asInt(), out.gridW());
        float[] reference = new float[out.pixelValues().length];
        ByteBuffer.wrap(TestImages.resource(dir + "pixel_values.f32")).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                .get(reference);
        assertEquals(24 * 3 * 14 * 14, reference.length);
        for (int i = 0; i < reference.length; i++) {
            if (Float.floatToIntBits(reference[i]) != Float.floatToIntBits(out.pixelValues()[i])) {
                int patch = i / 588;
                throw new AssertionError("differs at patch " + patch + " channel " + (i % 588) / 196 + " y "
                        + (i % 196) / 14 + " x " + i % 14 + ": reference " + reference[i] + ", Glimpse "
                        + out.pixelValues()[i]);
            }
        }
    }

    @Test
    void configFromJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("preprocessor_config.json");
        Files.writeString(json, """
                {"patch_size": 14, "merge_kernel_size": [2, 2], "in_token_limit": 4096, "num_pooled_tokens": 1024,
                 "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "pad_input": true,
                 "image_processor_type": "KimiVLImageProcessor"}""");
        KimiVlPreprocessorConfig cfg = KimiVlPreprocessorConfig.fromJson(json);
        assertEquals(new KimiVlPreprocessorConfig(14, 2, 2, 4096, HALF, HALF, true), cfg);
        assertEquals(28, cfg.alignH());

        Files.writeString(json, "{\"patch_size\": 16, \"merge_kernel_size\": [1, 3]}");
        KimiVlPreprocessorConfig defaults = KimiVlPreprocessorConfig.fromJson(json);
        assertEquals(16, defaults.patchSize());
        assertEquals(1, defaults.mergeKernelH());
        assertEquals(3, defaults.mergeKernelW());
        assertEquals(4096, defaults.inTokenLimit());
        assertArrayEquals(new float[]{0.48145466f, 0.4578275f, 0.40821073f}, defaults.mean());
        assertFalse(defaults.padInput());

        Files.writeString(json, "{\"image_std\": [0.5, 0, 0.5]}");
        assertThrows(IllegalArgumentException.class, () -> KimiVlPreprocessorConfig.fromJson(json));
        Files.writeString(json, "{\"merge_kernel_size\": [2]}");
        assertThrows(IllegalArgumentException.class, () -> KimiVlPreprocessorConfig.fromJson(json));
    }

    @Test
    void configIsValidatedAndDefensivelyCopied() {
        float[] mean = {0.1f, 0.2f, 0.3f};
        KimiVlPreprocessorConfig cfg = new KimiVlPreprocessorConfig(14, 2, 2, 4096, mean, HALF, true);
        mean[0] = 9f;
        assertEquals(0.1f, cfg.mean()[0], 0f);
        cfg.mean()[1] = 9f;
        assertEquals(0.2f, cfg.mean()[1], 0f);
        assertThrows(IllegalArgumentException.class, () -> new KimiVlPreprocessorConfig(0, 2, 2, 4096, HALF, HALF, true));
        assertThrows(IllegalArgumentException.class,
                () -> new KimiVlPreprocessorConfig(14, 2, 2, 4096, new float[]{0.5f}, HALF, true));
        assertTrue(cfg.toString().contains("inTokenLimit=4096"));
    }
}
