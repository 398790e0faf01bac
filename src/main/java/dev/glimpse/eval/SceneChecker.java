package dev.glimpse.eval;

import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.OpenCvLoader;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a ShapesWorld scene back from pixels, to score generated images against their prompts (and checked on
 * generator images, whose contents are known):
 * <ol>
 *   <li>background = the most frequent colour (scenes have a flat background);</li>
 *   <li>colour segmentation: each pixel goes to the nearest of the seven reference colours when that is nearer than
 *       the background and within {@link #MAX_COLOUR_DISTANCE} (generator jitter is +-20 per channel);</li>
 *   <li>per colour, connected components (OpenCV, 8-connected) that survive a morphological opening with a
 *       {@link #OPEN_SIZE}-pixel square are shapes: this drops text strokes (near-black, a few pixels wide) and
 *       anti-aliased fringes, while the smallest shapes (14 px) keep a core;</li>
 *   <li>shape class from how much of its bounding box a component fills: a square about 1, a circle pi/4 = 0.785, an
 *       isosceles triangle 0.5.</li>
 * </ol>
 */
public final class SceneChecker {

    public static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "purple", "orange", "black");
    public static final List<String> KINDS = List.of("circle", "square", "triangle");
    private static final int[][] REF = {{220, 30, 30}, {30, 160, 60}, {40, 70, 220}, {240, 200, 20}, {140, 50, 170},
            {245, 130, 20}, {20, 20, 20}};
    static final double MAX_COLOUR_DISTANCE = 70;
    static final int OPEN_SIZE = 7;
    static final int MIN_AREA = 60;

    /** A shape found in the image: colour, kind, bounding box (x, y, w, h) and the share of the box it fills. */
    public record Shape(String colour, String kind, int x, int y, int w, int h, double fill) {
        public double centreX() { return x + w / 2.0; }

        public String phrase() { return colour + " " + kind; }
    }

    private SceneChecker() {}

    /** The shapes of a scene, left to right by the centre of their bounding box. */
    public static List<Shape> detect(DecodedImage img) {
        OpenCvLoader.ensureLoaded();
        int w = img.width();
        int h = img.height();
        byte[] rgb = img.rgb();
        int[] bg = background(rgb);
        byte[][] masks = new byte[REF.length][w * h];
        for (int i = 0, p = 0; i < w * h; i++, p += 3) {
            int r = rgb[p] & 0xFF, g = rgb[p + 1] & 0xFF, b = rgb[p + 2] & 0xFF;
            double dBg = dist(r, g, b, bg);
            int best = -1;
            double bestD = Double.MAX_VALUE;
            for (int k = 0; k < REF.length; k++) {
                double d = dist(r, g, b, REF[k]);
                if (d < bestD) {
                    bestD = d;
                    best = k;
                }
            }
            if (bestD < dBg && bestD <= MAX_COLOUR_DISTANCE) masks[best][i] = (byte) 255;
        }
        List<Shape> shapes = new ArrayList<>();
        Mat kernel = Imgproc.getStructuringElement(Imgproc.MORPH_RECT, new Size(OPEN_SIZE, OPEN_SIZE));
        for (int k = 0; k < REF.length; k++) {
            Mat mask = new Mat(h, w, CvType.CV_8UC1);
            Mat opened = new Mat();
            Mat labels = new Mat();
            Mat stats = new Mat();
            Mat centroids = new Mat();
            try {
                mask.put(0, 0, masks[k]);
                Imgproc.morphologyEx(mask, opened, Imgproc.MORPH_OPEN, kernel);
                int n = Imgproc.connectedComponentsWithStats(mask, labels, stats, centroids, 8, CvType.CV_32S);
                int[] lab = new int[w * h];
                labels.get(0, 0, lab);
                byte[] core = new byte[w * h];
                opened.get(0, 0, core);
                boolean[] survives = new boolean[n];
                for (int i = 0; i < lab.length; i++) if (core[i] != 0) survives[lab[i]] = true;
                int[] st = new int[5];
                for (int c = 1; c < n; c++) {
                    stats.get(c, 0, st);   // x, y, width, height, area
                    if (!survives[c] || st[4] < MIN_AREA) continue;
                    double fill = (double) st[4] / ((double) st[2] * st[3]);
                    shapes.add(new Shape(COLOURS.get(k), kind(fill), st[0], st[1], st[2], st[3], fill));
                }
            } finally {
                mask.release();
                opened.release();
                labels.release();
                stats.release();
                centroids.release();
            }
        }
        kernel.release();
        shapes.sort(Comparator.comparingDouble(Shape::centreX));
        return shapes;
    }

    static String kind(double fill) {
        if (fill > 0.9) return "square";
        if (fill > 0.64) return "circle";
        return "triangle";
    }

    /** The most frequent colour, quantised to 4 bits per channel and averaged within its bin. */
    private static int[] background(byte[] rgb) {
        Map<Integer, long[]> bins = new HashMap<>();
        int bestKey = 0;
        long bestCount = -1;
        for (int p = 0; p < rgb.length; p += 3) {
            int r = rgb[p] & 0xFF, g = rgb[p + 1] & 0xFF, b = rgb[p + 2] & 0xFF;
            int key = (r >> 4) << 8 | (g >> 4) << 4 | (b >> 4);
            long[] s = bins.computeIfAbsent(key, x -> new long[4]);
            s[0] += r;
            s[1] += g;
            s[2] += b;
            if (++s[3] > bestCount) {
                bestCount = s[3];
                bestKey = key;
            }
        }
        long[] s = bins.get(bestKey);
        return new int[] {(int) (s[0] / s[3]), (int) (s[1] / s[3]), (int) (s[2] / s[3])};
    }

    private static double dist(int r, int g, int b, int[] ref) {
        int dr = r - ref[0], dg = g - ref[1], db = b - ref[2];
        return Math.sqrt(dr * dr + dg * dg + db * db);
    }

    private static final Pattern PHRASE = Pattern.compile("\\b(?:an?\\s+)?(red|green|blue|yellow|purple|orange|black)\\s+"
            + "(circle|square|triangle)s?\\b");

    /**
     * The "colour kind" phrases of a ShapesWorld caption or drawing prompt, in order ("Draw a red circle and a blue
     * square." -> [red circle, blue square]); a quoted word is ignored.
     */
    public static List<String> phrases(String text) {
        String t = text.toLowerCase(Locale.ROOT).replaceAll("\"[^\"]*\"", " ");
        List<String> out = new ArrayList<>();
        Matcher m = PHRASE.matcher(t);
        while (m.find()) out.add(m.group(1) + " " + m.group(2));
        return out;
    }

    /**
     * Does the image show exactly the requested shapes? Every requested (colour, kind) appears, as many times as
     * requested, and nothing else does (order is not required: a prompt need not say left to right).
     */
    public static boolean matches(List<Shape> detected, List<String> requested) {
        Map<String, Integer> want = new HashMap<>();
        for (String r : requested) want.merge(r, 1, Integer::sum);
        Map<String, Integer> got = new HashMap<>();
        for (Shape s : detected) got.merge(s.phrase(), 1, Integer::sum);
        return want.equals(got);
    }
}
