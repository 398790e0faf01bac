package dev.glimpse.image;

/**
 * Bit-exact reimplementation of Pillow's {@code Image.resize(size, Image.BICUBIC)} and {@code Image.LANCZOS} for 8-bit
 * RGB (Kimi-VL resizes with bicubic, Chameleon with Lanczos; Pillow's
 * libImaging/Resample.c; the goldens were made with Debian's Pillow 9.4 and the 8-bit path reads the same in Pillow's
 * current main), so that Glimpse feeds the vision encoder the same pixels as the Python reference that resized
 * with PIL.
 *
 * <p>The arithmetic, as Pillow does it:
 * <ul>
 *   <li>Separable convolution with the bicubic (Keys, a = -0.5) kernel, support 2, or Lanczos (sinc(x) sinc(x/3)),
 *       support 3. When downscaling by a factor {@code scale = in/out > 1} the kernel is stretched by {@code scale}
 *       (antialiasing): support (2 or 3)*scale, taps
 *       evaluated at {@code (x - center + 0.5) / scale}.</li>
 *   <li>For output index i: center = (i + 0.5) * scale; taps run over [xmin, xmax) with xmin = (int)(center - support
 *       + 0.5) clamped at 0 and xmax = (int)(center + support + 0.5) clamped at in; the weights are divided by their
 *       sum (in double), then converted to fixed point with {@link #PRECISION_BITS} = 22 fractional bits, rounding
 *       half away from zero.</li>
 *   <li>Each output sample is (1 &lt;&lt; 21) + sum(v * k) in 32-bit int, shifted right by 22 and clipped to 0..255.
 *       The horizontal pass runs first (only over the source rows the vertical pass will read) and its result is
 *       clipped to uint8 before the vertical pass.</li>
 *   <li>A pass is skipped when its dimension is unchanged; if both are, the image is returned as is (Pillow copies).</li>
 * </ul>
 * Only the whole-image box (0, 0, w, h) is supported, which is what {@code resize} uses when no box is given; an output
 * window ({@link #resizeWindow}) is computed on its own, as the same window of the whole resize.
 */
public final class PilResample {

    /** Fractional bits of the fixed-point weights: 32 bits minus 8 for the sample, minus 2 for sign and overshoot. */
    static final int PRECISION_BITS = 32 - 8 - 2;

    /** Pillow's resampling filters that the model families use: kernel and support. */
    public enum Filter {
        BICUBIC(2.0) {
            @Override
            double kernel(double x) { return bicubic(x); }
        },
        LANCZOS(3.0) {
            @Override
            double kernel(double x) { return lanczos(x); }
        };

        final double support;

        Filter(double support) {
            this.support = support;
        }

        abstract double kernel(double x);
    }

    private PilResample() {
    }

    /** Bicubic {@link #resize(DecodedImage, int, int, Filter)}. */
    public static DecodedImage resize(DecodedImage src, int newW, int newH) {
        return resize(src, newW, newH, Filter.BICUBIC);
    }

    /** Returns a new image of newW x newH; {@code src} is not modified (it is returned as is when the size matches). */
    public static DecodedImage resize(DecodedImage src, int newW, int newH, Filter filter) {
        return resizeWindow(src, newW, newH, filter, 0, 0, newW, newH);
    }

    /**
     * The window [left, left + outW) x [top, top + outH) of {@code resize(src, newW, newH, filter)}, computed without the
     * rest: every output pixel depends only on its own taps, so this is bit-identical to resizing and then cropping,
     * at the cost of the window alone (Chameleon centre-crops a shortest-edge resize: a 16384 x 1 upload would otherwise
     * be resized to 8388608 x 512 first).
     */
    public static DecodedImage resizeWindow(DecodedImage src, int newW, int newH, Filter filter, int left, int top, int outW,
                                            int outH) {
        if (newW <= 0 || newH <= 0) {
            throw new IllegalArgumentException("target size must be positive, got " + newW + "x" + newH);
        }
        if (outW <= 0 || outH <= 0 || left < 0 || top < 0 || left > newW - outW || top > newH - outH) {
            throw new IllegalArgumentException("window " + outW + "x" + outH + " at (" + left + ", " + top + ") is not inside "
                    + newW + "x" + newH);
        }
        boolean horizontal = newW != src.width();
        boolean vertical = newH != src.height();
        boolean whole = left == 0 && top == 0 && outW == newW && outH == newH;
        if (!horizontal && !vertical && whole) {
            return src;
        }
        // Source rows [first, last) feed the output window (through the vertical taps, or one to one without that pass).
        Coefficients vert = vertical ? Coefficients.of(src.height(), newH, filter, top, outH) : null;
        int first = vertical ? vert.min[0] : top;
        int last = vertical ? vert.min[outH - 1] + vert.count[outH - 1] : top + outH;
        byte[] pixels = horizontal
                ? horizontalPass(src.rgb(), src.width(), first, last - first, Coefficients.of(src.width(), newW, filter, left, outW))
                : cropRows(src.rgb(), src.width(), first, last - first, left, outW);
        if (vertical) pixels = verticalPass(pixels, outW, first, vert);
        return new DecodedImage(outW, outH, pixels);
    }

    // in: (rows of the source, srcW, 3); returns rows [firstRow, firstRow + rows), columns [left, left + outW).
    private static byte[] cropRows(byte[] in, int srcW, int firstRow, int rows, int left, int outW) {
        byte[] out = new byte[rows * outW * 3];
        for (int y = 0; y < rows; y++) {
            System.arraycopy(in, ((firstRow + y) * srcW + left) * 3, out, y * outW * 3, outW * 3);
        }
        return out;
    }

    // in: (rows of the source, srcW, 3); reads rows [firstRow, firstRow + rows). Returns (rows, out, 3).
    private static byte[] horizontalPass(byte[] in, int srcW, int firstRow, int rows, Coefficients k) {
        int outW = k.min.length;
        byte[] out = new byte[rows * outW * 3];
        for (int y = 0; y < rows; y++) {
            int rowBase = (firstRow + y) * srcW * 3;
            int o = y * outW * 3;
            for (int x = 0; x < outW; x++, o += 3) {
                weighted(in, rowBase + k.min[x] * 3, 3, k.count[x], k.weights, x * k.size, out, o);
            }
        }
        return out;
    }

    // in: (rows, width, 3) whose row 0 is source row rowOffset. Returns (outH, width, 3).
    private static byte[] verticalPass(byte[] in, int width, int rowOffset, Coefficients k) {
        int outH = k.min.length;
        int stride = width * 3;
        byte[] out = new byte[outH * stride];
        for (int y = 0; y < outH; y++) {
            int kBase = y * k.size;
            int first = (k.min[y] - rowOffset) * stride;
            int o = y * stride;
            for (int x = 0; x < stride; x += 3, o += 3) {
                weighted(in, first + x, stride, k.count[y], k.weights, kBase, out, o);
            }
        }
        return out;
    }

    /**
     * One output pixel of either pass: the fixed-point weighted sum of {@code n} RGB taps starting at {@code p}, {@code step}
     * bytes apart (3 along a row, a row's stride down a column), rounded and clipped as Pillow does.
     */
    private static void weighted(byte[] in, int p, int step, int n, int[] weights, int wBase, byte[] out, int o) {
        int s0 = 1 << (PRECISION_BITS - 1);
        int s1 = s0;
        int s2 = s0;
        for (int t = 0; t < n; t++, p += step) {
            int w = weights[wBase + t];
            s0 += (in[p] & 0xFF) * w;
            s1 += (in[p + 1] & 0xFF) * w;
            s2 += (in[p + 2] & 0xFF) * w;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
    }

    // Pillow clips through a lookup table indexed by (s >> PRECISION_BITS); the arithmetic shift floors.
    private static byte clip8(int s) {
        int v = s >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Pillow's lanczos_filter: truncated sinc, sinc(x) * sinc(x / 3) on [-3, 3). */
    static double lanczos(double x) {
        if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
        return 0.0;
    }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        x = x * Math.PI;
        return Math.sin(x) / x;
    }

    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /**
     * Fixed-point taps for one axis: output index i reads count[i] source samples starting at min[i], weighted by
     * weights[i * size .. i * size + count[i]).
     */
    record Coefficients(int size, int[] min, int[] count, int[] weights) {

        static Coefficients of(int inSize, int outSize) {
            return of(inSize, outSize, Filter.BICUBIC);
        }

        static Coefficients of(int inSize, int outSize, Filter filter) {
            return of(inSize, outSize, filter, 0, outSize);
        }

        /** The taps of output indices [from, from + n) of a resize from inSize to outSize, at index 0..n-1. */
        static Coefficients of(int inSize, int outSize, Filter filter, int from, int n) {
            double scale = (double) inSize / outSize; // Pillow: (double)(in1 - in0) / outSize with a float box
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support * filterScale;
            int size = (int) Math.ceil(support) * 2 + 1;
            int[] min = new int[n];
            int[] count = new int[n];
            int[] weights = new int[n * size];
            double[] k = new double[size];
            double ss = 1.0 / filterScale;
            for (int i = 0; i < n; i++) {
                int xx = from + i;
                double center = (xx + 0.5) * scale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double sum = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double w = filter.kernel((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    sum += w;
                }
                for (int x = 0; x < xmax; x++) {
                    double w = sum != 0.0 ? k[x] / sum : k[x];
                    // round half away from zero, then truncate, as Pillow's normalize_coeffs_8bpc
                    weights[i * size + x] = w < 0 ? (int) (-0.5 + w * (1 << PRECISION_BITS))
                            : (int) (0.5 + w * (1 << PRECISION_BITS));
                }
                min[i] = xmin;
                count[i] = xmax;
            }
            return new Coefficients(size, min, count, weights);
        }
    }
}
