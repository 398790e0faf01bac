package dev.glimpse.image;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** PilResample (bicubic and Lanczos) against Pillow's own output (training/golden_resize.py), byte for byte. */
class PilResampleTest {

    private static final String DIR = "/golden/image/resize/";

    @TestFactory
    Stream<DynamicTest> matchesPillowByteForByte() {
        List<String> cases = new String(TestImages.resource(DIR + "cases.tsv"), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertEquals(12, cases.size(), "golden cases");
        return cases.stream().map(line -> {
            String[] f = line.split("\t");
            return DynamicTest.dynamicTest(f[0] + " " + f[1] + "x" + f[2] + " -> " + f[3] + "x" + f[4], () -> {
                DecodedImage src = TestImages.pngResource(DIR + f[0] + ".src.png");
                DecodedImage expected = TestImages.pngResource(DIR + f[0] + ".dst.png");
                assertEquals(Integer.parseInt(f[1]), src.width());
                assertEquals(Integer.parseInt(f[2]), src.height());
                DecodedImage actual = PilResample.resize(src, Integer.parseInt(f[3]), Integer.parseInt(f[4]));
                assertEquals(expected.width(), actual.width());
                assertEquals(expected.height(), actual.height());
                assertBytesEqual(expected, actual);
            });
        });
    }

    @TestFactory
    Stream<DynamicTest> lanczosMatchesPillowByteForByte() {
        List<String> cases = new String(TestImages.resource(DIR + "cases.tsv"), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        return cases.stream().map(line -> {
            String[] f = line.split("\t");
            return DynamicTest.dynamicTest("lanczos " + f[0] + " " + f[1] + "x" + f[2] + " -> " + f[3] + "x" + f[4], () -> {
                DecodedImage src = TestImages.pngResource(DIR + f[0] + ".src.png");
                DecodedImage expected = TestImages.pngResource(DIR + f[0] + ".lanczos.png");
                DecodedImage actual = PilResample.resize(src, Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                        PilResample.Filter.LANCZOS);
                assertEquals(expected.width(), actual.width());
                assertEquals(expected.height(), actual.height());
                assertBytesEqual(expected, actual);
            });
        });
    }

    private static void assertBytesEqual(DecodedImage expected, DecodedImage actual) {
        byte[] e = expected.rgb();
        byte[] a = actual.rgb();
        for (int i = 0; i < e.length; i++) {
            if (e[i] != a[i]) {
                int p = i / 3;
                fail("first difference at pixel (" + p % expected.width() + "," + p / expected.width() + ") channel "
                        + i % 3 + ": Pillow " + (e[i] & 0xFF) + ", PilResample " + (a[i] & 0xFF));
            }
        }
    }

    @Test
    void sameSizeIsTheSameImage() {
        DecodedImage img = TestImages.solid(3, 2, 1, 2, 3);
        assertSame(img, PilResample.resize(img, 3, 2));
    }

    @Test
    void flatColourStaysFlat() {
        DecodedImage out = PilResample.resize(TestImages.solid(97, 41, 17, 128, 254), 13, 60);
        for (int i = 0; i < out.rgb().length; i += 3) {
            assertArrayEquals(new byte[]{17, (byte) 128, (byte) 254}, new byte[]{out.rgb()[i], out.rgb()[i + 1],
                    out.rgb()[i + 2]});
        }
    }

    @Test
    void coefficientsAreNormalisedFixedPoint() {
        // Downscale 10 -> 3: scale 3.333, support 6.667, at most 2*7+1 = 15 taps, each row sums to ~2^22.
        PilResample.Coefficients k = PilResample.Coefficients.of(10, 3);
        assertEquals(15, k.size());
        // centers 1.667, 5, 8.333: xmin = (int)(center - 6.667 + 0.5) clamped at 0, xmax = (int)(center + 7.167)
        // clamped at 10.
        assertArrayEquals(new int[]{0, 0, 2}, k.min());
        assertArrayEquals(new int[]{8, 10, 8}, k.count());
        for (int i = 0; i < 3; i++) {
            long sum = 0;
            for (int t = 0; t < k.count()[i]; t++) {
                sum += k.weights()[i * k.size() + t];
            }
            assertTrue(Math.abs(sum - (1 << PilResample.PRECISION_BITS)) <= k.count()[i], "row " + i + " sums to " + sum);
        }
        assertEquals(1.0, PilResample.bicubic(0), 0);
        assertEquals(0.0, PilResample.bicubic(2), 0);
        assertEquals(-0.0625, PilResample.bicubic(1.5), 1e-15);
    }

    @Test
    void rejectsEmptyTarget() {
        assertThrows(IllegalArgumentException.class, () -> PilResample.resize(TestImages.solid(2, 2, 0, 0, 0), 0, 1));
    }

    /** A window of a resize is the same window of the whole resize, byte for byte, with and without skipped passes. */
    @Test
    void aWindowEqualsTheCropOfTheWholeResize() {
        java.util.Random rnd = new java.util.Random(11);
        int[][] cases = {{37, 5, 211, 28}, {5, 37, 28, 211}, {40, 30, 40, 90}, {40, 30, 17, 30}, {40, 30, 40, 30}, {64, 64, 9, 9}};
        for (int[] c : cases) {
            byte[] rgb = new byte[c[0] * c[1] * 3];
            rnd.nextBytes(rgb);
            DecodedImage src = new DecodedImage(c[0], c[1], rgb);
            for (PilResample.Filter f : PilResample.Filter.values()) {
                DecodedImage whole = PilResample.resize(src, c[2], c[3], f);
                int w = Math.min(9, c[2]), h = Math.min(7, c[3]);
                for (int[] at : new int[][] {{0, 0}, {c[2] - w, c[3] - h}, {(c[2] - w) / 2, (c[3] - h) / 2}}) {
                    DecodedImage win = PilResample.resizeWindow(src, c[2], c[3], f, at[0], at[1], w, h);
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w * 3; x++) {
                            assertEquals(whole.rgb()[((at[1] + y) * c[2] + at[0]) * 3 + x], win.rgb()[y * w * 3 + x],
                                    java.util.Arrays.toString(c) + " " + f + " window at " + java.util.Arrays.toString(at));
                        }
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class,
                () -> PilResample.resizeWindow(TestImages.solid(4, 4, 0, 0, 0), 8, 8, PilResample.Filter.LANCZOS, 4, 0, 5, 5));
    }
}
