package dev.glimpse.bench;

import dev.glimpse.image.OpenCvLoader;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.core.MatOfPoint;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

import java.util.List;
import java.util.Random;

/**
 * Photo-like synthetic JPEGs: a smooth colour gradient, filled and outlined shapes, a little sensor noise, encoded by
 * OpenCV's libjpeg at quality 90. The same seed gives the same bytes; different seeds give different pixels (distinct
 * vision-cache keys).
 */
final class SyntheticImages {
    private SyntheticImages() {}

    static byte[] jpeg(int w, int h, long seed) {
        OpenCvLoader.ensureLoaded();
        Random rnd = new Random(seed);
        int a = rnd.nextInt(256), b = rnd.nextInt(256), c = rnd.nextInt(256);
        byte[] px = new byte[w * h * 3];
        for (int y = 0, i = 0; y < h; y++) {
            for (int x = 0; x < w; x++, i += 3) {
                px[i] = (byte) (a + x * 200 / w);
                px[i + 1] = (byte) (b + y * 200 / h);
                px[i + 2] = (byte) (c + (x + y) * 120 / (w + h));
            }
        }
        Mat m = new Mat(h, w, CvType.CV_8UC3);
        Mat noise = new Mat(h, w, CvType.CV_8UC3);
        MatOfByte out = new MatOfByte();
        try {
            m.put(0, 0, px);
            int shapes = 12 + rnd.nextInt(8);
            for (int k = 0; k < shapes; k++) {
                Scalar color = new Scalar(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256));
                int thickness = rnd.nextBoolean() ? -1 : 1 + rnd.nextInt(6);
                Point p = new Point(rnd.nextInt(w), rnd.nextInt(h));
                int size = Math.max(4, Math.min(w, h) / 16 + rnd.nextInt(Math.max(1, Math.min(w, h) / 5)));
                switch (rnd.nextInt(4)) {
                    case 0 -> Imgproc.circle(m, p, size, color, thickness, Imgproc.LINE_AA);
                    case 1 -> Imgproc.rectangle(m, p, new Point(p.x + size * 1.5, p.y + size), color, thickness);
                    case 2 -> Imgproc.line(m, p, new Point(rnd.nextInt(w), rnd.nextInt(h)), color, 1 + rnd.nextInt(8), Imgproc.LINE_AA);
                    default -> {
                        MatOfPoint tri = new MatOfPoint(p, new Point(p.x + size, p.y + size / 3.0), new Point(p.x + size / 3.0, p.y - size));
                        Imgproc.fillPoly(m, List.of(tri), color, Imgproc.LINE_AA);
                        tri.release();
                    }
                }
            }
            Core.randn(noise, 8, 4); // uint8 saturates: mean 8 then minus 8 gives zero-mean noise
            Core.add(m, noise, m);
            Core.subtract(m, new Scalar(8, 8, 8), m);
            if (!Imgcodecs.imencode(".jpg", m, out, new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY, 90))) {
                throw new IllegalStateException("OpenCV could not encode a JPEG");
            }
            return out.toArray();
        } finally {
            m.release();
            noise.release();
            out.release();
        }
    }
}
