package dev.glimpse.convert.kimivl;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class VisionGraphInputsTest {

    /** The tiny checkpoint's MoonViT: 64x64 position table, 2x2 merge kernel. */
    static final KimiVlConfig.Vision V = new KimiVlConfig.Vision(14, 64, 64, 4, 2, 64, 128, 2, 2);

    static VisionGraphInputs of(int[]... grids) {
        return VisionGraphInputs.of(List.of(grids), V);
    }

    @Test
    void gridEqualToTheTableIsTheIdentity() {
        VisionGraphInputs in = of(new int[]{64, 64});
        assertEquals(64 * 64, in.patches());
        assertEquals(64 * 64 * 16, in.posIndex().length);
        for (int l = 0; l < in.patches(); l++) {
            for (int k = 0; k < 16; k++) {
                float w = in.posWeight()[l * 16 + k];
                if (k == 1 * 4 + 1) { // tap (dy=1, dx=1) is the source position itself
                    assertEquals(1.0f, w, "patch " + l);
                    assertEquals(l, in.posIndex()[l * 16 + k], "patch " + l);
                } else {
                    assertEquals(0.0f, Math.abs(w), "patch " + l + " tap " + k);
                }
            }
        }
    }

    @Test
    void mergeIndexGroupsEachTwoByTwoBlockAcrossPackedImages() {
        VisionGraphInputs in = of(new int[]{4, 6}, new int[]{2, 2});
        assertEquals(28, in.patches());
        assertArrayEquals(new long[]{
                0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11,
                12, 13, 18, 19, 14, 15, 20, 21, 16, 17, 22, 23,
                24, 25, 26, 27}, in.mergeIndex());
    }

    @Test
    void imageIndexAndPatchPositions() {
        VisionGraphInputs in = of(new int[]{4, 6}, new int[]{2, 2});
        long[] expectedImage = new long[28];
        for (int i = 24; i < 28; i++) expectedImage[i] = 1;
        assertArrayEquals(expectedImage, in.imageIndex());
        long[] pos = in.patchPos();
        assertEquals(56, pos.length);
        // Row-major inside each image, restarting at (0, 0) for the second image.
        assertArrayEquals(new long[]{0, 0}, new long[]{pos[0], pos[1]});
        assertArrayEquals(new long[]{0, 5}, new long[]{pos[10], pos[11]});
        assertArrayEquals(new long[]{1, 0}, new long[]{pos[12], pos[13]});
        assertArrayEquals(new long[]{1, 1}, new long[]{pos[14], pos[15]});
        assertArrayEquals(new long[]{3, 5}, new long[]{pos[46], pos[47]});
        assertArrayEquals(new long[]{0, 0}, new long[]{pos[48], pos[49]});
        assertArrayEquals(new long[]{0, 1}, new long[]{pos[50], pos[51]});
        assertArrayEquals(new long[]{1, 0}, new long[]{pos[52], pos[53]});
        assertArrayEquals(new long[]{1, 1}, new long[]{pos[54], pos[55]});
        for (int l = 0; l < 24; l++) {
            assertEquals(l / 6, pos[2 * l]);
            assertEquals(l % 6, pos[2 * l + 1]);
        }
    }

    /** Keys' cubic kernel (A = -0.75) in double: the exact weights the fp32 ones approximate. */
    static double keys(double x) {
        double a = -0.75;
        x = Math.abs(x);
        if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }

    /**
     * 1-D taps from 64 to {@code out}: with the other axis equal to the table (64) its weight is exactly [0, 1, 0, 0], so
     * the 16 weights of patch (o, 0) are this axis's 4 weights times 1 (or 0).
     */
    static void checkOneAxis(int out) {
        VisionGraphInputs in = of(new int[]{out, 64});
        // The source coordinate in fp32 like PyTorch's (its rounding moves t by up to ~1e-6 at 64->100); the kernel in double.
        float scale = 64f / out;
        for (int o = 0; o < out; o++) {
            int l = o * 64;
            float real = scale * (o + 0.5f) - 0.5f;
            int i0 = (int) Math.floor(real);
            double t = real - i0;
            double sum = 0;
            for (int dy = 0; dy < 4; dy++) {
                int k = l * 16 + dy * 4 + 1;
                float w = in.posWeight()[k];
                sum += w;
                assertEquals(keys(t + 1 - dy), w, 1e-6, "64->" + out + " row " + o + " tap " + dy);
                assertEquals((long) Math.min(Math.max(i0 - 1 + dy, 0), 63) * 64, in.posIndex()[k]);
                for (int dx : new int[]{0, 2, 3}) assertEquals(0.0f, Math.abs(in.posWeight()[l * 16 + dy * 4 + dx]));
            }
            assertEquals(1.0, sum, 1e-6, "64->" + out + " row " + o);
        }
    }

    @Test
    void oneDimensionalTapsMatchKeysKernelAndSumToOne() {
        checkOneAxis(100); // upsampling
        checkOneAxis(10);  // downsampling
        checkOneAxis(32);
        checkOneAxis(128);
    }

    @Test
    void tapWeightsOfEveryPatchSumToOne() {
        // Each 2-D weight is a product of two fp32 1-D weights (as in the fp32 reference), and each 1-D sum is within 1e-6
        // of 1 (checked above), so the 2-D sum is within (1 + 1e-6)^2 - 1 plus product rounding: 2.5e-6. Measured max:
        // 1.2e-6 at 100x100, 1.7e-6 at 200x200.
        int[][] grids = {{100, 100}, {10, 10}, {10, 100}, {64, 2}, {2, 64}, {128, 30}, {200, 200}};
        for (int[] g : grids) {
            VisionGraphInputs in = of(g);
            assertEquals(g[0] * g[1], in.patches());
            for (int l = 0; l < in.patches(); l++) {
                double sum = 0;
                for (int k = 0; k < 16; k++) {
                    sum += in.posWeight()[l * 16 + k];
                    long idx = in.posIndex()[l * 16 + k];
                    assertTrue(idx >= 0 && idx < 64 * 64, "index " + idx + " for grid " + g[0] + "x" + g[1]);
                }
                assertEquals(1.0, sum, 2.5e-6, "grid " + g[0] + "x" + g[1] + " patch " + l);
            }
        }
    }

    @Test
    void halvingUsesTheHandComputedBicubicTaps() {
        // 64 -> 32: source coordinate 2*o + 0.5, t = 0.5; Keys A=-0.75 gives [-0.09375, 0.59375, 0.59375, -0.09375].
        float[] w1 = {-0.09375f, 0.59375f, 0.59375f, -0.09375f};
        VisionGraphInputs in = of(new int[]{32, 32});
        int r = 5, c = 9;
        int l = r * 32 + c;
        for (int dy = 0; dy < 4; dy++) {
            for (int dx = 0; dx < 4; dx++) {
                int k = l * 16 + dy * 4 + dx;
                assertEquals(w1[dy] * w1[dx], in.posWeight()[k], 1e-7);
                assertEquals((long) (2 * r - 1 + dy) * 64 + (2 * c - 1 + dx), in.posIndex()[k]);
            }
        }
        // At the border the tap left of row 0 is clamped to row 0 (PyTorch's access_with_bounds).
        assertEquals(0, in.posIndex()[0]);
        assertEquals(0, in.posIndex()[1 * 4 + 1]);
        assertEquals(1, in.posIndex()[1 * 4 + 2]);
        assertEquals(64 + 2, in.posIndex()[2 * 4 + 3]);
    }

    @Test
    void gridNotDivisibleByTheMergeKernelIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> of(new int[]{3, 4}));
        assertThrows(IllegalArgumentException.class, () -> of(new int[]{4, 4}, new int[]{4, 5}));
    }

    @Test
    void ropeFrequencies() {
        assertEquals(1.0f, VisionGraphInputs.ropeFrequency(0, 16));
        assertEquals(0.1f, VisionGraphInputs.ropeFrequency(1, 16), 1e-8);
        assertEquals(0.01f, VisionGraphInputs.ropeFrequency(2, 16), 1e-9);
    }
}
