package dev.glimpse.convert.kimivl;

/** Host-side weight reshuffles done once at conversion time. */
final class Weights {
    private Weights() {}

    /** (rows, cols) row-major -> (cols, rows) row-major: PyTorch Linear weights (out, in) become MatMul operands (in, out). */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[base + c];
        }
        return t;
    }
}
