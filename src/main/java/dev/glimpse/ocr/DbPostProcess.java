package dev.glimpse.ocr;

import dev.glimpse.image.OpenCvLoader;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfPoint;
import org.opencv.core.MatOfPoint2f;
import org.opencv.core.Point;
import org.opencv.core.Rect;
import org.opencv.core.RotatedRect;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Differentiable-binarization (DB) post-processing: text-probability map -> quadrilateral text boxes, following
 * PaddleOCR's DBPostProcess ("quad" boxes, "fast" score) and the filter its text detector applies after it.
 *
 * <ol>
 *   <li>binarise the map at {@code thresh};</li>
 *   <li>outer and inner contours of the bitmap (list mode, simple chain approximation), at most {@code maxCandidates};</li>
 *   <li>each contour's minimum-area rectangle; drop it if its short side is under 3 map pixels;</li>
 *   <li>score = mean probability inside that rectangle; drop it under {@code boxThresh};</li>
 *   <li>unclip: grow the rectangle by {@code d = area * unclipRatio / perimeter} on every side (the DB paper's offset; for
 *       a rectangle, the rounded-corner offset polygon PaddleOCR builds with pyclipper has exactly this minimum-area
 *       rectangle); drop it if its short side is under 5;</li>
 *   <li>scale to source pixels (rounded, clipped to the image), then drop boxes whose width or height is 3 px or less.</li>
 * </ol>
 */
public final class DbPostProcess {

    /** Minimum short side of a candidate rectangle, in map pixels (PaddleOCR's min_size). */
    static final int MIN_SIZE = 3;

    /**
     * @param thresh        probability above which a map pixel is text
     * @param boxThresh     minimum mean probability of a box
     * @param unclipRatio   how far boxes grow (shrunk-kernel to full-text ratio)
     * @param maxCandidates contours examined at most
     */
    public record Params(double thresh, double boxThresh, double unclipRatio, int maxCandidates) {
        /**
         * Pixel threshold 0.3 as in PaddleOCR; box threshold 0.5 (PaddleOCR's inference tool has used 0.5 and 0.6: at
         * 0.6 the rectangle around a slightly rotated line of small, widely spaced text can score just under it and the
         * whole line is lost); unclip ratio 2.0 as in PaddleOCR's DBPostProcess class (the inference tool's 1.5 cuts off
         * trailing full stops and the edges of first and last letters more often).
         */
        public static final Params DEFAULT = new Params(0.3, 0.5, 2.0, 1000);

        public Params {
            if (!(thresh > 0 && thresh < 1)) throw new IllegalArgumentException("thresh must be in (0, 1), got " + thresh);
            if (!(boxThresh >= 0 && boxThresh < 1)) throw new IllegalArgumentException("boxThresh must be in [0, 1), got " + boxThresh);
            if (!(unclipRatio > 0)) throw new IllegalArgumentException("unclipRatio must be > 0, got " + unclipRatio);
            if (maxCandidates <= 0) throw new IllegalArgumentException("maxCandidates must be > 0, got " + maxCandidates);
        }
    }

    /** A detected box and its score (mean probability). */
    public record Box(Quad quad, double score) {}

    private DbPostProcess() {
    }

    /**
     * @param prob  (mapH, mapW) probabilities, row-major
     * @param srcW  width of the image the boxes are reported in
     * @param srcH  height of that image
     */
    public static List<Box> boxes(float[] prob, int mapH, int mapW, int srcW, int srcH, Params p) {
        if (prob.length != mapH * mapW) throw new IllegalArgumentException("map has " + prob.length + " values, not " + mapH + "x" + mapW);
        OpenCvLoader.ensureLoaded();
        byte[] bits = new byte[prob.length];
        float t = (float) p.thresh();
        for (int i = 0; i < prob.length; i++) bits[i] = prob[i] > t ? (byte) 255 : 0;
        Mat bitmap = new Mat(mapH, mapW, CvType.CV_8UC1);
        Mat pred = new Mat(mapH, mapW, CvType.CV_32FC1);
        Mat hierarchy = new Mat();
        List<MatOfPoint> contours = new ArrayList<>();
        List<Box> out = new ArrayList<>();
        try {
            bitmap.put(0, 0, bits);
            pred.put(0, 0, prob);
            Imgproc.findContours(bitmap, contours, hierarchy, Imgproc.RETR_LIST, Imgproc.CHAIN_APPROX_SIMPLE);
            int n = Math.min(contours.size(), p.maxCandidates());
            for (int i = 0; i < n; i++) {
                MatOfPoint2f c2f = new MatOfPoint2f(contours.get(i).toArray());
                RotatedRect rect = Imgproc.minAreaRect(c2f);
                c2f.release();
                if (Math.min(rect.size.width, rect.size.height) < MIN_SIZE) continue;
                Point[] box = miniBox(rect);
                double score = scoreFast(pred, box);
                if (score < p.boxThresh()) continue;
                RotatedRect grown = unclip(box, rect, p.unclipRatio());
                if (Math.min(grown.size.width, grown.size.height) < MIN_SIZE + 2) continue;
                Point[] g = miniBox(grown);
                double[] xs = new double[4];
                double[] ys = new double[4];
                for (int k = 0; k < 4; k++) {
                    xs[k] = clip(Math.rint(g[k].x / mapW * srcW), 0, srcW);
                    ys[k] = clip(Math.rint(g[k].y / mapH * srcH), 0, srcH);
                }
                Quad q = clipToImage(orderClockwise(new Quad(xs, ys)), srcW, srcH);
                if ((int) q.width() <= 3 || (int) q.height() <= 3) continue;
                out.add(new Box(q, score));
            }
        } finally {
            for (MatOfPoint c : contours) c.release();
            bitmap.release();
            pred.release();
            hierarchy.release();
        }
        return out;
    }

    /**
     * The rectangle's corners ordered top-left, top-right, bottom-right, bottom-left as PaddleOCR's get_mini_boxes does:
     * sort by x; of the two leftmost the upper is top-left, of the two rightmost the upper is top-right.
     */
    static Point[] miniBox(RotatedRect rect) {
        Point[] pts = new Point[4];
        rect.points(pts);
        Arrays.sort(pts, Comparator.comparingDouble(pt -> pt.x));
        Point tl, bl, tr, br;
        if (pts[1].y > pts[0].y) { tl = pts[0]; bl = pts[1]; } else { tl = pts[1]; bl = pts[0]; }
        if (pts[3].y > pts[2].y) { tr = pts[2]; br = pts[3]; } else { tr = pts[3]; br = pts[2]; }
        return new Point[]{tl, tr, br, bl};
    }

    /** Mean of {@code pred} over the polygon (integer-truncated corners, filled), within its clipped bounding box. */
    static double scoreFast(Mat pred, Point[] box) {
        int h = pred.rows();
        int w = pred.cols();
        double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
        for (Point pt : box) {
            minX = Math.min(minX, pt.x);
            maxX = Math.max(maxX, pt.x);
            minY = Math.min(minY, pt.y);
            maxY = Math.max(maxY, pt.y);
        }
        int xmin = clipInt((int) Math.floor(minX), 0, w - 1);
        int xmax = clipInt((int) Math.ceil(maxX), 0, w - 1);
        int ymin = clipInt((int) Math.floor(minY), 0, h - 1);
        int ymax = clipInt((int) Math.ceil(maxY), 0, h - 1);
        Mat mask = Mat.zeros(ymax - ymin + 1, xmax - xmin + 1, CvType.CV_8UC1);
        Point[] shifted = new Point[box.length];
        for (int i = 0; i < box.length; i++) {
            shifted[i] = new Point((int) (box[i].x - xmin), (int) (box[i].y - ymin));
        }
        MatOfPoint poly = new MatOfPoint(shifted);
        Mat roi = pred.submat(new Rect(xmin, ymin, xmax - xmin + 1, ymax - ymin + 1));
        try {
            Imgproc.fillPoly(mask, List.of(poly), new Scalar(1));
            return Core.mean(roi, mask).val[0];
        } finally {
            mask.release();
            poly.release();
            roi.release();
        }
    }

    /**
     * Grows a rectangle by {@code d = area * ratio / perimeter} on every side. The exact offset of a rectangle with round
     * joins is the rectangle grown by d with rounded corners; its minimum-area rectangle is the grown rectangle itself.
     */
    static RotatedRect unclip(Point[] box, RotatedRect rect, double ratio) {
        double area = 0;
        double perimeter = 0;
        for (int i = 0; i < 4; i++) {
            Point a = box[i];
            Point b = box[(i + 1) % 4];
            area += a.x * b.y - b.x * a.y;
            perimeter += Math.hypot(b.x - a.x, b.y - a.y);
        }
        area = Math.abs(area) / 2;
        double d = perimeter == 0 ? 0 : area * ratio / perimeter;
        return new RotatedRect(rect.center, new Size(rect.size.width + 2 * d, rect.size.height + 2 * d), rect.angle);
    }

    /**
     * Orders four corners top-left, top-right, bottom-right, bottom-left (PaddleOCR's order_points_clockwise): the two
     * leftmost by x are the left pair (upper = top-left), the other two the right pair (upper = top-right).
     */
    static Quad orderClockwise(Quad q) {
        Integer[] idx = {0, 1, 2, 3};
        Arrays.sort(idx, Comparator.comparingDouble(i -> q.x()[i]));
        int l0 = idx[0], l1 = idx[1], r0 = idx[2], r1 = idx[3];
        int tl = q.y()[l0] <= q.y()[l1] ? l0 : l1;
        int bl = tl == l0 ? l1 : l0;
        int tr = q.y()[r0] <= q.y()[r1] ? r0 : r1;
        int br = tr == r0 ? r1 : r0;
        return Quad.of(q.x()[tl], q.y()[tl], q.x()[tr], q.y()[tr], q.x()[br], q.y()[br], q.x()[bl], q.y()[bl]);
    }

    static Quad clipToImage(Quad q, int w, int h) {
        double[] xs = new double[4];
        double[] ys = new double[4];
        for (int i = 0; i < 4; i++) {
            xs[i] = clip(q.x()[i], 0, w - 1);
            ys[i] = clip(q.y()[i], 0, h - 1);
        }
        return new Quad(xs, ys);
    }

    private static double clip(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static int clipInt(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
