package dev.glimpse.ocr;

import dev.glimpse.image.OpenCvLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.Point;
import org.opencv.core.RotatedRect;
import org.opencv.core.Size;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** DB post-processing on synthetic probability maps. */
class OcrDbPostProcessTest {

    static final DbPostProcess.Params P = new DbPostProcess.Params(0.3, 0.5, 2.0, 1000);

    @BeforeAll
    static void opencv() {
        OpenCvLoader.ensureLoaded();
    }

    static float[] map(int h, int w) {
        return new float[h * w];
    }

    static void rect(float[] m, int w, int x0, int y0, int x1, int y1, float v) {
        for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) m[y * w + x] = v;
    }

    @Test
    void oneRectangleBecomesOneUnclippedBoxInSourcePixels() {
        int h = 64, w = 128;
        float[] m = map(h, w);
        rect(m, w, 20, 20, 100, 30, 0.9f); // 80 x 10 kernel
        // source image twice the map size
        List<DbPostProcess.Box> boxes = DbPostProcess.boxes(m, h, w, 256, 128, P);
        assertEquals(1, boxes.size());
        DbPostProcess.Box b = boxes.get(0);
        assertTrue(b.score() > 0.8 && b.score() <= 0.9, "mean probability inside the box: " + b.score());
        // the contour's min-area rect is 79 x 9 (pixel centres 20..99, 20..29); d = area * 2 / perimeter
        double d = 79.0 * 9 * 2.0 / (2 * (79 + 9));
        Quad q = b.quad();
        assertEquals((20 - d) * 2, q.x()[0], 2.0);
        assertEquals((20 - d) * 2, q.y()[0], 2.0);
        assertEquals((99 + d) * 2, q.x()[2], 2.0);
        assertEquals((29 + d) * 2, q.y()[2], 2.0);
        // corners in order: top-left, top-right, bottom-right, bottom-left
        assertTrue(q.x()[0] < q.x()[1] && q.y()[1] < q.y()[2] && q.x()[3] < q.x()[2] && q.y()[0] < q.y()[3], q.toString());
    }

    @Test
    void separateRegionsGiveSeparateBoxes() {
        int h = 64, w = 128;
        float[] m = map(h, w);
        rect(m, w, 10, 10, 60, 20, 0.8f);
        rect(m, w, 10, 40, 100, 52, 0.95f);
        List<DbPostProcess.Box> boxes = DbPostProcess.boxes(m, h, w, w, h, P);
        assertEquals(2, boxes.size());
    }

    @Test
    void lowScoreTinyAndEmptyRegionsAreDropped() {
        int h = 64, w = 128;
        float[] m = map(h, w);
        rect(m, w, 10, 10, 60, 20, 0.4f);  // above the pixel threshold, mean under the box threshold
        rect(m, w, 80, 40, 82, 42, 0.99f); // 2 x 2: under min_size
        assertTrue(DbPostProcess.boxes(m, h, w, w, h, P).isEmpty());
        assertTrue(DbPostProcess.boxes(map(h, w), h, w, w, h, P).isEmpty());
    }

    @Test
    void aRotatedRegionGivesARotatedQuad() {
        int h = 100, w = 200;
        float[] m = map(h, w);
        // a 120 x 12 band rotated by 5 degrees around (100, 50)
        double a = Math.toRadians(5), ca = Math.cos(a), sa = Math.sin(a);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double u = (x - 100) * ca + (y - 50) * sa;
                double v = -(x - 100) * sa + (y - 50) * ca;
                if (Math.abs(u) < 60 && Math.abs(v) < 6) m[y * w + x] = 0.9f;
            }
        }
        List<DbPostProcess.Box> boxes = DbPostProcess.boxes(m, h, w, w, h, P);
        assertEquals(1, boxes.size());
        Quad q = boxes.get(0).quad();
        double angle = Math.toDegrees(Math.atan2(q.y()[1] - q.y()[0], q.x()[1] - q.x()[0]));
        assertEquals(5, angle, 1.0);
        assertEquals(100, q.centerX(), 1.5);
        assertEquals(50, q.centerY(), 1.5);
    }

    @Test
    void boxesAreClippedToTheImage() {
        int h = 32, w = 64;
        float[] m = map(h, w);
        rect(m, w, 0, 0, 40, 8, 0.9f);
        Quad q = DbPostProcess.boxes(m, h, w, w, h, P).get(0).quad();
        for (int i = 0; i < 4; i++) {
            assertTrue(q.x()[i] >= 0 && q.x()[i] <= w - 1 && q.y()[i] >= 0 && q.y()[i] <= h - 1, q.toString());
        }
    }

    @Test
    void unclipGrowsEverySideByAreaTimesRatioOverPerimeter() {
        RotatedRect r = new RotatedRect(new Point(50, 50), new Size(40, 10), 0);
        Point[] box = DbPostProcess.miniBox(r);
        RotatedRect g = DbPostProcess.unclip(box, r, 1.5);
        double d = 40 * 10 * 1.5 / 100;
        assertEquals(40 + 2 * d, g.size.width, 1e-9);
        assertEquals(10 + 2 * d, g.size.height, 1e-9);
    }

    @Test
    void orderClockwiseSortsCorners() {
        Quad shuffled = Quad.of(10, 20, 0, 0, 0, 20, 10, 0);
        Quad q = DbPostProcess.orderClockwise(shuffled);
        assertArrayEquals(new double[]{0, 10, 10, 0}, q.x());
        assertArrayEquals(new double[]{0, 0, 20, 20}, q.y());
    }
}
