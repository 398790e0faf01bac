package dev.glimpse.image;

import dev.glimpse.convert.SafeTensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Chameleon preprocessing against the Hugging Face processor's pixel_values for the tiny checkpoint's golden images
 * (an RGB image resized down, an RGBA image with transparency resized up), bit for bit.
 */
class ChameleonPreprocessorTest {

    static final Path DIR = Path.of("src/test/resources/golden/chameleon");

    @Test
    void pixelValuesAreBitIdenticalToHuggingFace() throws Exception {
        ChameleonPreprocessor pre = ChameleonPreprocessor.load(DIR.resolve("checkpoint"));
        assertEquals(16, pre.resolution());
        float[] expected = SafeTensors.toFloats(SafeTensors.open(DIR.resolve("golden.safetensors")).entry("pixel_values"));
        String[] images = {"a.png", "b.png"};
        int n = 3 * 16 * 16;
        for (int k = 0; k < images.length; k++) {
            DecodedImage img = ImageDecoder.decode(Files.readAllBytes(DIR.resolve(images[k])), ImageLimits.DEFAULT,
                    ImageDecoder.Alpha.TRUNCATE_FLOAT64);
            float[] got = pre.process(img);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToIntBits(expected[k * n + i]), Float.floatToIntBits(got[i]),
                        images[k] + " value " + i + ": expected " + expected[k * n + i] + ", got " + got[i]);
            }
        }
    }

    @Test
    void theLongEdgeIsTruncatedAsHuggingFaceDoes() {
        ChameleonPreprocessor pre = new ChameleonPreprocessor(512, 0.0078, new float[] {1, 1, 1}, new float[] {1, 1, 1});
        assertArrayEquals(new int[] {512, 682}, pre.resizedSize(300, 400));   // 512 * 400 / 300 = 682.67
        assertArrayEquals(new int[] {910, 512}, pre.resizedSize(1600, 900));  // 910.22
        assertArrayEquals(new int[] {512, 512}, pre.resizedSize(7, 7));
    }

    @Test
    void anExtremeAspectRatioCostsOnlyTheCrop() {
        // 16384 x 1 at shortest edge 512 is a 8388608 x 512 resize: only its centre 512 x 512 is computed
        ChameleonPreprocessor pre = new ChameleonPreprocessor(512, 0.0078, new float[] {0, 0, 0}, new float[] {1, 1, 1});
        byte[] rgb = new byte[16384 * 3];
        java.util.Arrays.fill(rgb, (byte) 100);
        for (DecodedImage img : new DecodedImage[] {new DecodedImage(16384, 1, rgb), new DecodedImage(1, 16384, rgb)}) {
            float[] px = pre.process(img);
            assertEquals(3 * 512 * 512, px.length);
            assertEquals((float) (100 * 0.0078), px[px.length / 2], 1e-6, "a flat image stays flat");
        }
    }

    @Test
    void truncatedCompositingFollowsFloat64LikeHuggingFace() {
        // c = 0 under alpha 43: exactly 212, but (1 - 43/255.0) * 255 is 211.99999999999997 in float64, so HF's
        // truncation gives 211 where rounding (the Kimi-VL path) gives 212. 124 of the 65536 (c, a) pairs behave so.
        assertEquals(212, ImageDecoder.onWhite(0, 43));
        assertEquals(211, ImageDecoder.onWhiteTruncated(0, 43));
        assertEquals(127, ImageDecoder.onWhiteTruncated(0, 128));
        assertEquals(255, ImageDecoder.onWhiteTruncated(200, 0));
        assertEquals(200, ImageDecoder.onWhiteTruncated(200, 255));
    }

    @Test
    void aSquareSizeWithoutCropSquashesTheWholeImage(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("preprocessor_config.json"), """
                {"size": {"height": 64, "width": 64}, "do_center_crop": false, "resample": 1, "rescale_factor": 0.0078,
                 "image_mean": [1, 1, 1], "image_std": [1, 1, 1]}""");
        ChameleonPreprocessor pre = ChameleonPreprocessor.load(dir);
        assertTrue(pre.squash());
        assertArrayEquals(new int[] {64, 64}, pre.resizedSize(448, 56));
        byte[] rgb = new byte[448 * 56 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 7 % 251);
        DecodedImage wide = new DecodedImage(448, 56, rgb);
        float[] got = pre.process(wide);
        byte[] squashed = PilResample.resize(wide, 64, 64, PilResample.Filter.LANCZOS).rgb();
        // Every pixel of the 448x56 image reaches the 64x64 input: its last column is the resized image's last column.
        for (int y = 0; y < 64; y++) {
            int i = (y * 64 + 63) * 3;
            assertEquals((float) ((squashed[i] & 0xFF) * 0.0078) - 1f, got[y * 64 + 63]);
        }

        Files.writeString(dir.resolve("preprocessor_config.json"), """
                {"size": {"height": 64, "width": 32}, "do_center_crop": false}""");
        assertThrows(IllegalArgumentException.class, () -> ChameleonPreprocessor.load(dir));
        Files.writeString(dir.resolve("preprocessor_config.json"), """
                {"size": {"shortest_edge": 64}, "do_center_crop": false, "crop_size": {"height": 64, "width": 64}}""");
        assertThrows(IllegalArgumentException.class, () -> ChameleonPreprocessor.load(dir));
    }
}
