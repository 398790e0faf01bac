package dev.glimpse.ocr;

/**
 * A text region: four corners in image pixels, in the order top-left, top-right, bottom-right, bottom-left.
 *
 * @param x x of the four corners
 * @param y y of the four corners
 */
public record Quad(double[] x, double[] y) {

    public Quad {
        if (x.length != 4 || y.length != 4) throw new IllegalArgumentException("a quad has 4 corners");
    }

    public static Quad of(double x0, double y0, double x1, double y1, double x2, double y2, double x3, double y3) {
        return new Quad(new double[]{x0, x1, x2, x3}, new double[]{y0, y1, y2, y3});
    }

    public double minX() { return Math.min(Math.min(x[0], x[1]), Math.min(x[2], x[3])); }
    public double maxX() { return Math.max(Math.max(x[0], x[1]), Math.max(x[2], x[3])); }
    public double minY() { return Math.min(Math.min(y[0], y[1]), Math.min(y[2], y[3])); }
    public double maxY() { return Math.max(Math.max(y[0], y[1]), Math.max(y[2], y[3])); }
    public double centerX() { return (x[0] + x[1] + x[2] + x[3]) / 4; }
    public double centerY() { return (y[0] + y[1] + y[2] + y[3]) / 4; }

    /** Length of the top edge (corner 0 to 1). */
    public double width() { return Math.hypot(x[1] - x[0], y[1] - y[0]); }

    /** Length of the left edge (corner 0 to 3). */
    public double height() { return Math.hypot(x[3] - x[0], y[3] - y[0]); }

    /** Mean height of the left and right edges. */
    public double meanHeight() {
        return (Math.hypot(x[3] - x[0], y[3] - y[0]) + Math.hypot(x[2] - x[1], y[2] - y[1])) / 2;
    }

    /** Corners rounded to integer pixels, as [[x, y] x 4]. */
    public int[][] toIntArray() {
        int[][] out = new int[4][2];
        for (int i = 0; i < 4; i++) {
            out[i][0] = (int) Math.round(x[i]);
            out[i][1] = (int) Math.round(y[i]);
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Quad[");
        for (int i = 0; i < 4; i++) b.append(i == 0 ? "" : ", ").append('(').append(x[i]).append(", ").append(y[i]).append(')');
        return b.append(']').toString();
    }
}
