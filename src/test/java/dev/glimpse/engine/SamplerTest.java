package dev.glimpse.engine;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {

    static SamplingParams params(double temperature, double topP, int topK, Long seed) {
        return new SamplingParams(temperature, topP, topK, 16, seed, List.of());
    }

    static int[] draws(Sampler s, float[] logits, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = s.sample(logits);
        return out;
    }

    static double[] softmax(float[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    static double[] frequencies(Sampler s, float[] logits, int n) {
        double[] f = new double[logits.length];
        for (int i = 0; i < n; i++) f[s.sample(logits)] += 1.0 / n;
        return f;
    }

    /** Eight tokens, argmax at index 5, no ties. */
    static final float[] LOGITS = {0.1f, -1.0f, 0.7f, 0.3f, -0.2f, 1.2f, 0.9f, 0.0f};

    @Test
    void greedyPicksTheArgmax() {
        Sampler s = new Sampler(params(0, 1, 0, null));
        assertEquals(5, s.sample(LOGITS));
        assertEquals(0, s.sample(new float[]{3f, 1f, 2f}));
        assertEquals(2, s.sample(new float[]{-5f, -4f, -1f}));
        assertEquals(1, s.sample(new float[]{0f, 2f, 2f})); // ties go to the lowest id
        assertEquals(3, s.sample(new float[]{Float.NEGATIVE_INFINITY, -1e30f, 0f, 1e30f}));
    }

    @Test
    void sameSeedSameSequenceOtherSeedDiffers() {
        float[] flat = {0.0f, 0.1f, 0.2f, 0.0f, 0.1f, 0.2f, 0.0f, 0.1f};
        int[] a = draws(new Sampler(params(1.0, 1.0, 0, 42L)), flat, 100);
        int[] b = draws(new Sampler(params(1.0, 1.0, 0, 42L)), flat, 100);
        int[] c = draws(new Sampler(params(1.0, 1.0, 0, 43L)), flat, 100);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
        // The sequence actually varies (not a constant that would trivially repeat).
        assertTrue(Arrays.stream(a).distinct().count() >= 6, Arrays.toString(a));
    }

    @Test
    void topKOneIsTheArgmax() {
        Sampler s = new Sampler(params(1.5, 1.0, 1, 7L));
        for (int i = 0; i < 500; i++) assertEquals(5, s.sample(LOGITS));
    }

    @Test
    void tinyTopPIsTheArgmax() {
        Sampler s = new Sampler(params(1.0, 0.01, 0, 7L));
        for (int i = 0; i < 500; i++) assertEquals(5, s.sample(LOGITS));
    }

    @Test
    void frequenciesMatchSoftmaxAtTemperatureOne() {
        float[] logits = {1.0f, 0.0f, -0.5f, 0.5f}; // softmax ~ [0.455, 0.167, 0.101, 0.276]
        double[] expected = softmax(logits, 1.0);
        double[] f = frequencies(new Sampler(params(1.0, 1.0, 0, 1234L)), logits, 20_000);
        for (int i = 0; i < 4; i++) assertEquals(expected[i], f[i], 0.02, "token " + i + " " + Arrays.toString(f));
    }

    @Test
    void temperatureSharpensAndFlattens() {
        float[] logits = {1.0f, 0.0f, -0.5f, 0.5f};
        for (double temperature : new double[]{0.5, 2.0}) {
            double[] expected = softmax(logits, temperature);
            double[] f = frequencies(new Sampler(params(temperature, 1.0, 0, 99L)), logits, 20_000);
            for (int i = 0; i < 4; i++) assertEquals(expected[i], f[i], 0.02, "T=" + temperature + " token " + i);
        }
    }

    @Test
    void topKTwoNeverLeavesTheTopTwo() {
        float[] logits = {1.0f, 0.0f, -0.5f, 0.5f}; // top two: ids 0 and 3
        double[] f = frequencies(new Sampler(params(1.0, 1.0, 2, 5L)), logits, 20_000);
        assertEquals(0.0, f[1]);
        assertEquals(0.0, f[2]);
        double p0 = Math.exp(1.0) / (Math.exp(1.0) + Math.exp(0.5)); // renormalised over the kept two: 0.622
        assertEquals(p0, f[0], 0.02);
        assertEquals(1 - p0, f[3], 0.02);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingTheMass() {
        float[] logits = {1.0f, 0.0f, -0.5f, 0.5f}; // sorted mass: 0.455 (id 0), 0.731 (+ id 3), 0.899 (+ id 1), 1
        double[] f = frequencies(new Sampler(params(1.0, 0.8, 0, 11L)), logits, 20_000);
        assertEquals(0.0, f[2]); // outside the nucleus {0, 3, 1}
        double[] p = softmax(logits, 1.0);
        double kept = p[0] + p[3] + p[1];
        assertEquals(p[0] / kept, f[0], 0.02);
        assertEquals(p[3] / kept, f[3], 0.02);
        assertEquals(p[1] / kept, f[1], 0.02);
    }

    @Test
    void argmaxHelper() {
        assertEquals(0, Sampler.argmax(new float[]{1f}));
        assertEquals(2, Sampler.argmax(new float[]{1f, 2f, 3f}));
        assertEquals(0, Sampler.argmax(new float[]{3f, 3f, 3f}));
    }
}
