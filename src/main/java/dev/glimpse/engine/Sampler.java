package dev.glimpse.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits: greedy at temperature 0, otherwise temperature -> top-k -> softmax -> top-p
 * -> a draw from a per-request generator seeded by the request's seed. One Sampler per sequence (not thread-safe).
 */
public final class Sampler {

    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = params.seed() != null ? new SplittableRandom(params.seed()) : new SplittableRandom();
    }

    /** @param logits (vocab) for the position being sampled */
    public int sample(float[] logits) {
        if (params.greedy()) return argmax(logits);
        int n = logits.length;
        // Sort by logit descending, ties by id, so the draw is a pure function of logits and seed. Each entry packs an
        // order-preserving int of the logit (negated) above the id, so a primitive sort does it: this runs once per token
        // over the whole vocabulary (163,840 for Kimi-VL), where boxed indices and a comparator cost ~10x more.
        long[] packed = new long[n];
        for (int i = 0; i < n; i++) packed[i] = ((long) ~sortable(logits[i]) << 32) | i;
        Arrays.sort(packed);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = (int) packed[i];
        int keep = params.topK() > 0 ? Math.min(params.topK(), n) : n;
        double max = logits[order[0]];
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / params.temperature());
            sum += p[i];
        }
        // Nucleus: the smallest prefix whose mass reaches top_p (always at least one token).
        double cum = 0;
        int cut = keep;
        for (int i = 0; i < keep; i++) {
            cum += p[i] / sum;
            if (cum >= params.topP()) {
                cut = i + 1;
                break;
            }
        }
        double kept = 0;
        for (int i = 0; i < cut; i++) kept += p[i];
        double r = random.nextDouble() * kept;
        for (int i = 0; i < cut; i++) {
            r -= p[i];
            if (r < 0) return order[i];
        }
        return order[cut - 1];
    }

    /** An int whose signed order is the float's numeric order (-0.0 counted as 0.0, as {@code !=} does). */
    private static int sortable(float f) {
        int bits = Float.floatToIntBits(f + 0.0f);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
