package dev.glimpse.convert;

/** Host-side weight reshuffles done once at conversion time. */
public final class Weights {
    private Weights() {}

    /** (rows, cols) row-major -> (cols, rows) row-major: PyTorch Linear weights (out, in) become MatMul operands (in, out). */
    public static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[base + c];
        }
        return t;
    }

    /** A PyTorch Linear weight (out, in) of the checkpoint as a MatMul operand (in, out). */
    public static float[] linearAsMatMul(SafeTensors st, String name, int out, int in) {
        return transpose(st.floats(name, out, in), out, in);
    }
}
