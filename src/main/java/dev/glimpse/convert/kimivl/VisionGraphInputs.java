package dev.glimpse.convert.kimivl;

import java.util.List;

/**
 * The grid-dependent index tensors of {@link KimiVlVisionGraph} for a packed list of images, computed on the host.
 *
 * <p>The position-table taps reproduce PyTorch's {@code F.interpolate(mode="bicubic", align_corners=False)} (A = -0.75,
 * source index scale * (dst + 0.5) - 0.5, taps clamped to the border) in fp32, as the reference does.
 *
 * @param posIndex   (L, 16) flat index into the (H0*W0) position table, taps in (dy, dx) row-major order
 * @param posWeight  (L, 16) weight of each tap: wy[dy] * wx[dx]
 * @param patchPos   (L, 2) [row, col] of each patch inside its own image
 * @param imageIndex (L) which image a patch belongs to
 * @param mergeIndex (L) gather order that puts each merge block's patches next to each other
 */
public record VisionGraphInputs(int patches, long[] posIndex, float[] posWeight, long[] patchPos, long[] imageIndex,
                                long[] mergeIndex) {

    private static final float CUBIC_A = -0.75f;

    /** Grids are (h, w) in patches, each divisible by the merge kernel. */
    public static VisionGraphInputs of(List<int[]> gridsHw, KimiVlConfig.Vision v) {
        int total = 0;
        for (int[] hw : gridsHw) total += hw[0] * hw[1];
        long[] posIndex = new long[total * 16];
        float[] posWeight = new float[total * 16];
        long[] patchPos = new long[total * 2];
        long[] imageIndex = new long[total];
        long[] mergeIndex = new long[total];
        int base = 0;
        int m = 0;
        for (int img = 0; img < gridsHw.size(); img++) {
            int h = gridsHw.get(img)[0];
            int w = gridsHw.get(img)[1];
            if (h % v.mergeH() != 0 || w % v.mergeW() != 0) {
                throw new IllegalArgumentException("grid " + h + "x" + w + " is not divisible by the merge kernel");
            }
            Taps ty = taps(v.posEmbHeight(), h);
            Taps tx = taps(v.posEmbWidth(), w);
            for (int r = 0; r < h; r++) {
                for (int c = 0; c < w; c++) {
                    int l = base + r * w + c;
                    for (int dy = 0; dy < 4; dy++) {
                        for (int dx = 0; dx < 4; dx++) {
                            int k = l * 16 + dy * 4 + dx;
                            posIndex[k] = (long) ty.index[r * 4 + dy] * v.posEmbWidth() + tx.index[c * 4 + dx];
                            posWeight[k] = ty.weight[r * 4 + dy] * tx.weight[c * 4 + dx];
                        }
                    }
                    patchPos[2 * l] = r;
                    patchPos[2 * l + 1] = c;
                    imageIndex[l] = img;
                }
            }
            // (h/mh, mh, w/mw, mw) -> (h/mh, w/mw, mh, mw): block-major, then kernel row-major.
            for (int br = 0; br < h / v.mergeH(); br++)
                for (int bc = 0; bc < w / v.mergeW(); bc++)
                    for (int kr = 0; kr < v.mergeH(); kr++)
                        for (int kc = 0; kc < v.mergeW(); kc++)
                            mergeIndex[m++] = base + (long) (br * v.mergeH() + kr) * w + (bc * v.mergeW() + kc);
            base += h * w;
        }
        return new VisionGraphInputs(total, posIndex, posWeight, patchPos, imageIndex, mergeIndex);
    }

    /** f_j = 1 / 10000^(4j / hd), evaluated in fp32 steps like the reference's torch code. */
    static float ropeFrequency(int j, int headDim) {
        float exponent = (float) (4 * j) / (float) headDim;
        return 1.0f / (float) Math.pow(10000.0, exponent);
    }

    private record Taps(int[] index, float[] weight) {}

    /** Per output coordinate, 4 source indices and weights of 1-D bicubic resampling from {@code in} to {@code out}. */
    private static Taps taps(int in, int out) {
        int[] index = new int[out * 4];
        float[] weight = new float[out * 4];
        float scale = (float) in / (float) out;
        for (int o = 0; o < out; o++) {
            float real = scale * (o + 0.5f) - 0.5f;
            int i0 = (int) Math.floor(real);
            float t = real - i0;
            float[] wt = {
                    cubic2(t + 1.0f), cubic1(t), cubic1(1.0f - t), cubic2(2.0f - t)
            };
            for (int k = 0; k < 4; k++) {
                index[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), in - 1);
                weight[o * 4 + k] = wt[k];
            }
        }
        return new Taps(index, weight);
    }

    private static float cubic1(float x) {
        return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
    }

    private static float cubic2(float x) {
        return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
    }
}
