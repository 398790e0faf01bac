package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;

/**
 * Kimi-VL image preprocessing (docs/model-families.md 1.1), matching HF's KimiVLImageProcessor bit for bit:
 * <ol>
 *   <li>If (W/p)*(H/p) &gt; in_token_limit: s = sqrt(limit / ((W/p)*(H/p))) in double, Pillow-bicubic resize to
 *       ((int)(W*s), (int)(H*s)).</li>
 *   <li>pad_input: pad right/bottom with black (0) up to multiples of p*merge. Otherwise center-crop down to
 *       multiples of p*merge (the HF crop keeps multiples of p only, which leaves a grid the patch merger cannot
 *       split; cropping to the merge grid keeps the token count an integer).</li>
 *   <li>Refuse (400) a result with W/p or H/p &gt;= 512: the position embedding is interpolated from a 64x64 grid and
 *       the reference refuses it too.</li>
 *   <li>Per channel, in float32 as torchvision: x = v / 255f, then (x - mean) / std.</li>
 *   <li>Patchify (3,H,W) -&gt; (3,H/p,p,W/p,p) -&gt; permute(1,3,0,2,4) -&gt; (L,3,p,p), row-major over the grid.</li>
 * </ol>
 * Immutable and thread-safe.
 */
public final class KimiVlPreprocessor {

    /** Largest patch-grid side the reference accepts (exclusive). */
    public static final int MAX_GRID_SIDE = 512;

    private final KimiVlPreprocessorConfig config;
    // normalized[c][v]: the float32 value of channel c for 8-bit sample v; a table is exact because the per-sample
    // formula has only 256 inputs.
    private final float[][] normalized = new float[3][256];

    public KimiVlPreprocessor(KimiVlPreprocessorConfig config) {
        this.config = config;
        float[] mean = config.mean();
        float[] std = config.std();
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float x = v / 255.0f;
                normalized[c][v] = (x - mean[c]) / std[c];
            }
        }
    }

    public KimiVlPreprocessorConfig config() {
        return config;
    }

    public PixelPatches process(DecodedImage image) {
        int p = config.patchSize();
        DecodedImage scaled = fitTokenLimit(image);
        int w = scaled.width();
        int h = scaled.height();
        int alignW = config.alignW();
        int alignH = config.alignH();
        // Target canvas (tw, th) and where the scaled image's (0, 0) lands in it (crop offsets are negative).
        int tw;
        int th;
        int left = 0;
        int top = 0;
        if (config.padInput()) {
            tw = ceilDiv(w, alignW) * alignW;
            th = ceilDiv(h, alignH) * alignH;
        } else {
            tw = w / alignW * alignW;
            th = h / alignH * alignH;
            if (tw == 0 || th == 0) {
                throw GlimpseException.invalid("invalid_image", "messages", "image " + w + "x" + h
                        + " is smaller than one " + alignW + "x" + alignH + " merge window");
            }
            left = -((w - tw) / 2);
            top = -((h - th) / 2);
        }
        int gridW = tw / p;
        int gridH = th / p;
        if (gridW >= MAX_GRID_SIDE || gridH >= MAX_GRID_SIDE) {
            throw GlimpseException.invalid("invalid_image", "messages", "image " + image.width() + "x"
                    + image.height() + " needs a " + gridW + "x" + gridH + " patch grid; each side must be below "
                    + MAX_GRID_SIDE + " patches (the aspect ratio is too extreme)");
        }
        return patchify(scaled, gridH, gridW, left, top);
    }

    /** Step 1: scale down (Pillow bicubic) when the patch count exceeds in_token_limit; otherwise the same image. */
    DecodedImage fitTokenLimit(DecodedImage image) {
        int p = config.patchSize();
        long patches = (long) (image.width() / p) * (image.height() / p);
        if (patches <= config.inTokenLimit()) {
            return image;
        }
        double s = Math.sqrt((double) config.inTokenLimit() / patches);
        int newW = (int) (image.width() * s);
        int newH = (int) (image.height() * s);
        if (newW <= 0 || newH <= 0) {
            throw GlimpseException.invalid("invalid_image", "messages", "image " + image.width() + "x"
                    + image.height() + " would shrink to " + newW + "x" + newH + " pixels");
        }
        return PilResample.resize(image, newW, newH);
    }

    // Canvas pixel (cx, cy) is image pixel (cx - left, cy - top) when inside the image, else padding (sample 0).
    // Output (L, 3, p, p): value of (patch (gy, gx), channel c, row y, col x) at ((gy*gridW + gx)*3 + c)*p*p + y*p + x.
    private PixelPatches patchify(DecodedImage img, int gridH, int gridW, int left, int top) {
        int p = config.patchSize();
        int w = img.width();
        int h = img.height();
        byte[] rgb = img.rgb();
        int plane = p * p;
        float[] out = new float[gridH * gridW * 3 * plane];
        for (int gy = 0; gy < gridH; gy++) {
            for (int gx = 0; gx < gridW; gx++) {
                int patchBase = (gy * gridW + gx) * 3 * plane;
                for (int y = 0; y < p; y++) {
                    int sy = gy * p + y - top;
                    for (int x = 0; x < p; x++) {
                        int sx = gx * p + x - left;
                        int o = patchBase + y * p + x;
                        if (sy < h && sx < w) {
                            int i = (sy * w + sx) * 3;
                            out[o] = normalized[0][rgb[i] & 0xFF];
                            out[o + plane] = normalized[1][rgb[i + 1] & 0xFF];
                            out[o + 2 * plane] = normalized[2][rgb[i + 2] & 0xFF];
                        } else {
                            out[o] = normalized[0][0];
                            out[o + plane] = normalized[1][0];
                            out[o + 2 * plane] = normalized[2][0];
                        }
                    }
                }
            }
        }
        return new PixelPatches(out, gridH, gridW, p, config.mergeKernelH(), config.mergeKernelW());
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
