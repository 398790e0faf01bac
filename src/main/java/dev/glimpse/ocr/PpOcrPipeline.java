package dev.glimpse.ocr;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.OpenCvLoader;
import dev.glimpse.runtime.OrtRuntime;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfPoint2f;
import org.opencv.core.Point;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PaddleOCR's PP-OCRv4 system in Java: DB text detection, optional 180-degree direction classification, SVTR-LCNet
 * recognition with greedy CTC decoding, reading order. Preprocessing follows PaddleOCR's inference code (images in
 * OpenCV's BGR channel order, as the models were trained); where Glimpse departs from it, the option says why.
 *
 * <ul>
 *   <li>padding: the image gets a border of its own background colour ({@link #padding}), since DB finds nothing in a
 *       tightly cropped line;</li>
 *   <li>detection: scale so the longest side is at most {@code limitSideLen} (or the shortest at least, with limit type
 *       {@code min}), round each side to a multiple of 32 (at least 32), bilinear resize, {@code (x/255 - mean) / std}
 *       with ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) in B, G, R order; the probability map goes
 *       through {@link DbPostProcess}, then pieces of one line are joined ({@link LineMerger});</li>
 *   <li>crops: each box, lengthened by {@code cropMargin} heights at both ends, is cut out by a perspective transform to
 *       its own width x height (bicubic, replicated border); crops at least 1.5 times taller than wide are turned 90
 *       degrees counter-clockwise;</li>
 *   <li>direction (optional): crops resized to height 48 and width min(192, ceil(48 * w/h)), {@code x/127.5 - 1},
 *       zero-padded to 192; class "180" above {@code clsThresh} turns the crop 180 degrees; every crop where "180"
 *       wins is recognised both ways and the more confident reading kept (the classifier is sometimes confidently
 *       wrong on long upright lines);</li>
 *   <li>recognition: crops sorted by aspect ratio and run in batches (at most {@code recBatchSize} crops and
 *       {@code recBatchWidth} padded pixels of width per call); each crop is resized to height 48 and width
 *       ceil(48 * w/h), {@code x/127.5 - 1}, and zero-padded on the right to the batch's widest crop plus
 *       {@code recPadding} of it; greedy CTC decoding with word-space restoration ({@link CtcDecoder});</li>
 *   <li>result: regions under the confidence threshold or empty are dropped, the rest put in reading order
 *       ({@link ReadingOrder}).</li>
 * </ul>
 *
 * Thread-safe: sessions are shared, every call owns its tensors and Mats.
 */
public final class PpOcrPipeline implements AutoCloseable {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PpOcrPipeline.class);

    /** Recogniser input height (PP-OCRv4's rec_image_shape 3, 48, 320). */
    /** Longest side of the detection input (PaddleOCR's max_side_limit). */
    static final int DET_MAX_SIDE = 4000;
    static final int REC_HEIGHT = 48;
    /** Direction classifier input (cls_image_shape 3, 48, 192) and batch size. */
    static final int CLS_HEIGHT = 48;
    static final int CLS_WIDTH = 192;
    static final int CLS_BATCH = 6;

    private static final float[] DET_MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] DET_STD = {0.229f, 0.224f, 0.225f};

    /**
     * @param limitSideLen        detection resize limit, pixels
     * @param limitType           {@code max}: longest side at most the limit; {@code min}: shortest side at least the limit
     * @param db                  DB post-processing thresholds
     * @param mergeGap            join boxes of one line whose gap is at most this many heights ({@link LineMerger});
     *                            negative turns joining off
     * @param cropMargin          crops reach this many box heights beyond both ends of a box: DB's box often ends at the
     *                            edge of a trailing full stop or comma, which the recogniser then misses
     * @param angleClassification run the 180-degree classifier by default
     * @param clsThresh           probability above which a crop is turned
     * @param recBatchSize        crops per recogniser call at most
     * @param recBatchWidth       padded width x crops per recogniser call at most (a wider crop goes alone): on CPU a
     *                            call's cost per pixel grows once its activations outgrow the caches
     * @param recPadding          blank space (zeros after normalisation, PaddleOCR's padding value) after each crop, as a
     *                            fraction of its width: the recogniser was trained on crops padded to a fixed width and
     *                            drops or garbles the last characters more often when the text runs to the very end
     * @param spaceThreshold      word-space restoration in CTC decoding ({@link CtcDecoder}); infinity turns it off
     * @param recWidthScale       horizontal scale of crops for recognition (1 = aspect ratio kept)
     * @param foldGraphs          simplify the graphs when loading them ({@link GraphFolding}: same results, less time)
     * @param allowSpinning       let ONNX Runtime's worker threads spin between parallel sections (faster on an idle
     *                            machine, several times slower when the cores are shared with other work)
     */
    public record Options(int limitSideLen, String limitType, DbPostProcess.Params db, double mergeGap, double cropMargin,
                          boolean angleClassification, double clsThresh, int recBatchSize, int recBatchWidth,
                          double recPadding, double spaceThreshold, double recWidthScale, boolean foldGraphs,
                          boolean allowSpinning) {
        public static final Options DEFAULT = new Options(960, "max", DbPostProcess.Params.DEFAULT, 0.5, 0.15, false, 0.9, 6, 960,
                0.2, CtcDecoder.DEFAULT_SPACE_THRESHOLD, 1.0, true, false);

        public Options {
            if (limitSideLen < 32) throw new IllegalArgumentException("limitSideLen must be >= 32, got " + limitSideLen);
            if (!limitType.equals("max") && !limitType.equals("min")) {
                throw new IllegalArgumentException("limitType must be max or min, got " + limitType);
            }
            if (!(cropMargin >= 0)) throw new IllegalArgumentException("cropMargin must be >= 0, got " + cropMargin);
            if (recBatchSize <= 0) throw new IllegalArgumentException("recBatchSize must be > 0, got " + recBatchSize);
            if (recBatchWidth <= 0) throw new IllegalArgumentException("recBatchWidth must be > 0, got " + recBatchWidth);
            if (!(recPadding >= 0)) throw new IllegalArgumentException("recPadding must be >= 0, got " + recPadding);
            if (!(recWidthScale > 0)) throw new IllegalArgumentException("recWidthScale must be > 0, got " + recWidthScale);
        }

        public Options withDetection(int side, String type, DbPostProcess.Params p, double gap, double margin) {
            return new Options(side, type, p, gap, margin, angleClassification, clsThresh, recBatchSize, recBatchWidth, recPadding,
                    spaceThreshold, recWidthScale, foldGraphs, allowSpinning);
        }

        public Options withAngleClassification(boolean on, double thresh) {
            return new Options(limitSideLen, limitType, db, mergeGap, cropMargin, on, thresh, recBatchSize, recBatchWidth, recPadding,
                    spaceThreshold, recWidthScale, foldGraphs, allowSpinning);
        }

        public Options withRecognition(int batchSize, int batchWidth, double padding, double spaces, double widthScale) {
            return new Options(limitSideLen, limitType, db, mergeGap, cropMargin, angleClassification, clsThresh, batchSize, batchWidth,
                    padding, spaces, widthScale, foldGraphs, allowSpinning);
        }

        public Options withFoldGraphs(boolean on) {
            return new Options(limitSideLen, limitType, db, mergeGap, cropMargin, angleClassification, clsThresh, recBatchSize,
                    recBatchWidth, recPadding, spaceThreshold, recWidthScale, on, allowSpinning);
        }

        public Options withAllowSpinning(boolean on) {
            return new Options(limitSideLen, limitType, db, mergeGap, cropMargin, angleClassification, clsThresh, recBatchSize,
                    recBatchWidth, recPadding, spaceThreshold, recWidthScale, foldGraphs, on);
        }
    }

    private final OrtEnvironment env;
    private final OrtSession det;
    private final OrtSession rec;
    private final OrtSession cls;
    private final String detInput;
    private final String recInput;
    private final String clsInput;
    private final CtcDecoder decoder;
    private final Options options;

    private PpOcrPipeline(OrtEnvironment env, OrtSession det, OrtSession rec, OrtSession cls, CtcDecoder decoder, Options options) {
        this.env = env;
        this.det = det;
        this.rec = rec;
        this.cls = cls;
        this.decoder = decoder;
        this.options = options;
        this.detInput = det.getInputNames().iterator().next();
        this.recInput = rec.getInputNames().iterator().next();
        this.clsInput = cls.getInputNames().iterator().next();
    }

    /** Opens the three sessions; checks that the recogniser's class count matches the dictionary. */
    public static PpOcrPipeline open(OcrModelFiles files, OrtRuntime runtime, Options options) {
        OpenCvLoader.ensureLoaded();
        CtcDecoder decoder = CtcDecoder.fromDictionary(files.dict(), options.spaceThreshold());
        OrtSession det = null, rec = null, cls = null;
        try {
            Map<String, String> config = options.allowSpinning() ? Map.of() : Map.of("session.intra_op.allow_spinning", "0");
            det = openFolded(runtime, files.det(), config, options.foldGraphs());
            rec = openFolded(runtime, files.rec(), config, options.foldGraphs());
            cls = openFolded(runtime, files.cls(), config, options.foldGraphs());
            long[] shape = ((TensorInfo) rec.getOutputInfo().values().iterator().next().getInfo()).getShape();
            if (shape[shape.length - 1] != decoder.numClasses()) {
                throw new IllegalStateException("recogniser " + files.rec() + " has " + shape[shape.length - 1]
                        + " classes but dictionary " + files.dict() + " gives " + decoder.numClasses());
            }
            return new PpOcrPipeline(runtime.env(), det, rec, cls, decoder, options);
        } catch (OrtException | RuntimeException e) {
            closeQuietly(det, rec, cls);
            if (e instanceof RuntimeException r) throw r;
            throw new IllegalStateException("cannot open OCR models in " + files.dir() + ": " + e.getMessage(), e);
        }
    }

    /** Opens a model, rewritten by {@link GraphFolding} first when {@code fold} is set. */
    private static OrtSession openFolded(OrtRuntime runtime, Path model, Map<String, String> config, boolean fold) {
        if (!fold) return runtime.open(model, config);
        byte[] bytes;
        try {
            bytes = java.nio.file.Files.readAllBytes(model);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + model, e);
        }
        GraphFolding.Result r = GraphFolding.fold(bytes);
        log.debug("{}: folded {}", model.getFileName(), r.stats());
        return runtime.open(r.model(), model.toString(), config);
    }

    public Options options() {
        return options;
    }

    /** Reads an image with the configured direction-classification default. */
    public OcrResult run(DecodedImage image, double minConfidence) {
        return run(image, minConfidence, options.angleClassification());
    }

    /**
     * Reads an image.
     *
     * @param minConfidence regions whose confidence is below this are dropped (as are regions that decode to nothing)
     * @param angle         run the 180-degree direction classifier on the crops
     */
    public OcrResult run(DecodedImage image, double minConfidence, boolean angle) {
        long t0 = System.nanoTime();
        int pad = padding(image.width(), image.height());
        Mat bgr = null;
        Mat padded = null;
        List<Mat> crops = new ArrayList<>();
        try {
            bgr = toBgr(image);
            padded = pad(bgr, pad);
            List<DbPostProcess.Box> boxes = detect(padded);
            long t1 = System.nanoTime();
            for (DbPostProcess.Box b : boxes) crops.add(crop(padded, widen(b.quad(), options.cropMargin())));
            long tc = System.nanoTime();
            List<Integer> unsure = angle && !crops.isEmpty() ? classifyAndTurn(crops) : List.of();
            long t2 = System.nanoTime();
            CtcDecoder.Decoded[] decoded = recognize(crops);
            if (!unsure.isEmpty()) {
                // crops the classifier found upside down, turned or not: read them the other way too, keep the surer reading
                List<Mat> turned = new ArrayList<>(unsure.size());
                try {
                    for (int i : unsure) {
                        Mat t = new Mat();
                        Core.rotate(crops.get(i), t, Core.ROTATE_180);
                        turned.add(t);
                    }
                    CtcDecoder.Decoded[] other = recognize(turned);
                    for (int k = 0; k < unsure.size(); k++) {
                        int i = unsure.get(k);
                        if (other[k].confidence() > decoded[i].confidence()) decoded[i] = other[k];
                    }
                } finally {
                    for (Mat t : turned) t.release();
                }
            }
            long t3 = System.nanoTime();
            List<OcrLine> lines = new ArrayList<>();
            for (int i = 0; i < boxes.size(); i++) {
                CtcDecoder.Decoded d = decoded[i];
                String text = d.text().strip();
                if (text.isEmpty() || d.confidence() < minConfidence) continue;
                lines.add(new OcrLine(text, d.confidence(), unpad(boxes.get(i).quad(), pad, image.width(), image.height())));
            }
            List<List<OcrLine>> rows = ReadingOrder.lines(lines, OcrLine::box);
            List<OcrLine> ordered = new ArrayList<>(lines.size());
            StringBuilder text = new StringBuilder();
            for (List<OcrLine> row : rows) {
                if (text.length() > 0) text.append('\n');
                for (int i = 0; i < row.size(); i++) {
                    if (i > 0) text.append(' ');
                    text.append(row.get(i).text());
                }
                ordered.addAll(row);
            }
            long t4 = System.nanoTime();
            Map<String, Double> timings = new LinkedHashMap<>();
            timings.put("det_ms", ms(t1 - t0));
            timings.put("crop_ms", ms(tc - t1));
            timings.put("cls_ms", ms(t2 - tc));
            timings.put("rec_ms", ms(t3 - t2));
            timings.put("total_ms", ms(t4 - t0));
            return new OcrResult(List.copyOf(ordered), text.toString(), timings);
        } finally {
            if (bgr != null) bgr.release();
            if (padded != null) padded.release();
            for (Mat m : crops) m.release();
        }
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 1e4) / 100.0;
    }

    /**
     * Border added around the image before detection: DB finds nothing in a tightly cropped line of text (it needs
     * background around the strokes), so every image gets {@code clamp(min(w, h) / 2, 8, 32)} pixels of its own
     * background colour on each side. Crops are cut from the padded image, so text touching the edge keeps its margin.
     */
    static int padding(int w, int h) {
        return Math.max(8, Math.min(32, Math.min(w, h) / 2));
    }

    /**
     * The image with {@code pad} pixels on every side, filled with the median colour of its outermost pixels. Reads only
     * the border (first and last rows, first and last columns), not the whole image.
     */
    static Mat pad(Mat bgr, int pad) {
        int h = bgr.rows(), w = bgr.cols();
        int[][] border = new int[3][2 * (w + h)];
        int n = 0;
        byte[] row = new byte[w * 3];
        for (int y : h == 1 ? new int[]{0} : new int[]{0, h - 1}) {
            bgr.get(y, 0, row);
            for (int x = 0; x < w; x++, n++) {
                for (int c = 0; c < 3; c++) border[c][n] = row[x * 3 + c] & 0xFF;
            }
        }
        byte[] px = new byte[3];
        for (int y = 1; y < h - 1; y++) {
            for (int x : w == 1 ? new int[]{0} : new int[]{0, w - 1}) {
                bgr.get(y, x, px);
                for (int c = 0; c < 3; c++) border[c][n] = px[c] & 0xFF;
                n++;
            }
        }
        double[] fill = new double[3];
        for (int c = 0; c < 3; c++) {
            int[] v = Arrays.copyOf(border[c], n);
            Arrays.sort(v);
            fill[c] = v[n / 2];
        }
        Mat out = new Mat();
        Core.copyMakeBorder(bgr, out, pad, pad, pad, pad, Core.BORDER_CONSTANT, new org.opencv.core.Scalar(fill));
        return out;
    }

    /** A box found on the padded image, in the original image's pixels (clipped to it). */
    static Quad unpad(Quad q, int pad, int w, int h) {
        double[] xs = new double[4];
        double[] ys = new double[4];
        for (int i = 0; i < 4; i++) {
            xs[i] = Math.max(0, Math.min(w - 1, q.x()[i] - pad));
            ys[i] = Math.max(0, Math.min(h - 1, q.y()[i] - pad));
        }
        return new Quad(xs, ys);
    }

    static Mat toBgr(DecodedImage image) {
        OpenCvLoader.ensureLoaded();
        Mat rgb = new Mat(image.height(), image.width(), CvType.CV_8UC3);
        Mat bgr = new Mat();
        try {
            rgb.put(0, 0, image.rgb());
            Imgproc.cvtColor(rgb, bgr, Imgproc.COLOR_RGB2BGR);
            return bgr;
        } catch (RuntimeException e) {
            bgr.release();
            throw e;
        } finally {
            rgb.release();
        }
    }

    /**
     * Detection input size for an h x w image: the limit rule, then (as PaddleOCR's max_side_limit) the longest side at
     * most {@link #DET_MAX_SIDE}, then each side rounded to a multiple of 32 (>= 32). Without the cap, limit type min would
     * turn a 16384 x 1 strip into a 960 x 15 million network input.
     */
    static int[] detSize(int h, int w, int limit, String limitType) {
        double ratio = 1.0;
        if (limitType.equals("max")) {
            if (Math.max(h, w) > limit) ratio = (double) limit / Math.max(h, w);
        } else if (Math.min(h, w) < limit) {
            ratio = (double) limit / Math.min(h, w);
        }
        if (Math.max(h, w) * ratio > DET_MAX_SIDE) ratio = (double) DET_MAX_SIDE / Math.max(h, w);
        int rh = (int) (h * ratio);
        int rw = (int) (w * ratio);
        rh = Math.max((int) Math.rint(rh / 32.0) * 32, 32);
        rw = Math.max((int) Math.rint(rw / 32.0) * 32, 32);
        return new int[]{rh, rw};
    }

    List<DbPostProcess.Box> detect(Mat bgr) {
        int h = bgr.rows(), w = bgr.cols();
        int[] size = detSize(h, w, options.limitSideLen(), options.limitType());
        int rh = size[0], rw = size[1];
        Mat resized = new Mat();
        float[] chw;
        try {
            Imgproc.resize(bgr, resized, new Size(rw, rh));
            chw = new float[3 * rh * rw];
            normalizeInto(resized, chw, 0, rw, DET_MEAN, DET_STD);
        } finally {
            resized.release();
        }
        float[] map;
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(chw), new long[]{1, 3, rh, rw});
             OrtSession.Result r = det.run(Map.of(detInput, x))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            map = new float[fb.remaining()];
            fb.get(map);
        } catch (OrtException e) {
            throw GlimpseException.internal("text detection failed: " + e.getMessage(), e);
        }
        return LineMerger.merge(DbPostProcess.boxes(map, rh, rw, w, h, options.db()), options.mergeGap(), w, h);
    }

    /**
     * Writes {@code (x/255 - mean[c]) / std[c]} of an 8-bit 3-channel image into {@code out} as CHW planes of width
     * {@code planeW} (>= the image width; columns past it are left as they are), starting at {@code offset}.
     */
    static void normalizeInto(Mat img8, float[] out, int offset, int planeW, float[] mean, float[] std) {
        int h = img8.rows(), w = img8.cols();
        byte[] hwc = new byte[h * w * 3];
        img8.get(0, 0, hwc);
        int plane = h * planeW;
        float[] scale = new float[3];
        float[] shift = new float[3];
        for (int c = 0; c < 3; c++) {
            scale[c] = 1f / (255f * std[c]);
            shift[c] = mean[c] / std[c];
        }
        for (int y = 0; y < h; y++) {
            int row = offset + y * planeW;
            for (int x = 0, i = y * w * 3; x < w; x++, i += 3) {
                out[row + x] = (hwc[i] & 0xFF) * scale[0] - shift[0];
                out[row + plane + x] = (hwc[i + 1] & 0xFF) * scale[1] - shift[1];
                out[row + 2 * plane + x] = (hwc[i + 2] & 0xFF) * scale[2] - shift[2];
            }
        }
    }

    private static final float[] HALF = {0.5f, 0.5f, 0.5f};

    /** The quad lengthened by {@code margin} times its height at both ends, along its own direction. */
    static Quad widen(Quad q, double margin) {
        if (margin <= 0) return q;
        double[] x = q.x(), y = q.y();
        double len = Math.max(1e-6, q.width());
        double ux = (x[1] - x[0]) / len, uy = (y[1] - y[0]) / len;
        double e = margin * q.meanHeight();
        return Quad.of(x[0] - ux * e, y[0] - uy * e, x[1] + ux * e, y[1] + uy * e,
                x[2] + ux * e, y[2] + uy * e, x[3] - ux * e, y[3] - uy * e);
    }

    /** Cuts a quad out of the image by a perspective transform to its width x height; tall crops are turned upright. */
    static Mat crop(Mat bgr, Quad q) {
        double[] x = q.x(), y = q.y();
        int cw = (int) Math.max(Math.hypot(x[0] - x[1], y[0] - y[1]), Math.hypot(x[2] - x[3], y[2] - y[3]));
        int ch = (int) Math.max(Math.hypot(x[0] - x[3], y[0] - y[3]), Math.hypot(x[1] - x[2], y[1] - y[2]));
        cw = Math.max(cw, 1);
        ch = Math.max(ch, 1);
        MatOfPoint2f src = new MatOfPoint2f(new Point(x[0], y[0]), new Point(x[1], y[1]), new Point(x[2], y[2]), new Point(x[3], y[3]));
        MatOfPoint2f dst = new MatOfPoint2f(new Point(0, 0), new Point(cw, 0), new Point(cw, ch), new Point(0, ch));
        Mat m = Imgproc.getPerspectiveTransform(src, dst);
        Mat out = new Mat();
        try {
            Imgproc.warpPerspective(bgr, out, m, new Size(cw, ch), Imgproc.INTER_CUBIC, Core.BORDER_REPLICATE);
        } finally {
            src.release();
            dst.release();
            m.release();
        }
        if ((double) ch / cw >= 1.5) {
            Mat turned = new Mat();
            Core.rotate(out, turned, Core.ROTATE_90_COUNTERCLOCKWISE);
            out.release();
            return turned;
        }
        return out;
    }

    private static Integer[] byAspectRatio(List<Mat> crops) {
        Integer[] order = new Integer[crops.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> (double) crops.get(i).cols() / crops.get(i).rows()));
        return order;
    }

    /**
     * Runs the direction classifier and turns (in place in the list) the crops it finds upside down with a probability
     * above {@code clsThresh}; returns the indices of all crops it found more likely upside down than not, turned or not
     * (the caller reads those both ways: the classifier is sometimes confidently wrong on long upright lines).
     */
    List<Integer> classifyAndTurn(List<Mat> crops) {
        List<Integer> unsure = new ArrayList<>();
        Integer[] order = byAspectRatio(crops);
        for (int start = 0; start < order.length; start += CLS_BATCH) {
            int n = Math.min(CLS_BATCH, order.length - start);
            float[] batch = new float[n * 3 * CLS_HEIGHT * CLS_WIDTH];
            for (int b = 0; b < n; b++) {
                Mat c = crops.get(order[start + b]);
                int rw = (int) Math.min(CLS_WIDTH, Math.ceil(CLS_HEIGHT * (double) c.cols() / c.rows()));
                resizeNormalize(c, Math.max(rw, 1), CLS_HEIGHT, batch, b * 3 * CLS_HEIGHT * CLS_WIDTH, CLS_WIDTH);
            }
            float[] probs;
            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch), new long[]{n, 3, CLS_HEIGHT, CLS_WIDTH});
                 OrtSession.Result r = cls.run(Map.of(clsInput, x))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                probs = new float[fb.remaining()];
                fb.get(probs);
            } catch (OrtException e) {
                throw GlimpseException.internal("text direction classification failed: " + e.getMessage(), e);
            }
            for (int b = 0; b < n; b++) {
                float p0 = probs[2 * b], p180 = probs[2 * b + 1];
                if (p180 > p0) unsure.add(order[start + b]);
                if (p180 > p0 && p180 > options.clsThresh()) {
                    int idx = order[start + b];
                    Mat c = crops.get(idx);
                    Mat turned = new Mat();
                    Core.rotate(c, turned, Core.ROTATE_180);
                    c.release();
                    crops.set(idx, turned);
                }
            }
        }
        return unsure;
    }

    /** Resizes (bilinear) to rw x rh and writes {@code x/127.5 - 1} as CHW planes of width planeW at offset. */
    private static void resizeNormalize(Mat crop, int rw, int rh, float[] out, int offset, int planeW) {
        Mat resized = new Mat();
        try {
            Imgproc.resize(crop, resized, new Size(rw, rh));
            normalizeInto(resized, out, offset, planeW, HALF, HALF);
        } finally {
            resized.release();
        }
    }

    /** Width of a crop resized to the recogniser's height (aspect ratio times {@code recWidthScale}), at least 8. */
    private int recWidth(Mat crop) {
        return Math.max(8, (int) Math.ceil(REC_HEIGHT * options.recWidthScale() * crop.cols() / crop.rows()));
    }

    /** Width a crop takes in a recogniser batch: its resized width plus {@code recPadding} of it in blank padding. */
    private int paddedWidth(Mat crop) {
        int w = recWidth(crop);
        return w + (int) Math.ceil(w * options.recPadding());
    }

    /** Recognises every crop; results in the crops' order. */
    CtcDecoder.Decoded[] recognize(List<Mat> crops) {
        CtcDecoder.Decoded[] out = new CtcDecoder.Decoded[crops.size()];
        Integer[] order = byAspectRatio(crops);
        for (int start = 0, n; start < order.length; start += n) {
            // Sorted by aspect ratio, so the last crop of a batch is its widest and sets the padded width.
            n = 1;
            while (start + n < order.length && n < options.recBatchSize()
                    && (long) (n + 1) * paddedWidth(crops.get(order[start + n])) <= options.recBatchWidth()) {
                n++;
            }
            int width = 0;
            for (int b = 0; b < n; b++) width = Math.max(width, paddedWidth(crops.get(order[start + b])));
            int sample = 3 * REC_HEIGHT * width;
            float[] batch = new float[n * sample];
            for (int b = 0; b < n; b++) {
                Mat c = crops.get(order[start + b]);
                resizeNormalize(c, recWidth(c), REC_HEIGHT, batch, b * sample, width);
            }
            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch), new long[]{n, 3, REC_HEIGHT, width});
                 OrtSession.Result r = rec.run(Map.of(recInput, x))) {
                OnnxTensor y = (OnnxTensor) r.get(0);
                long[] shape = y.getInfo().getShape(); // (n, steps, classes)
                int steps = (int) shape[1];
                FloatBuffer fb = y.getFloatBuffer();
                float[] probs = new float[fb.remaining()];
                fb.get(probs);
                for (int b = 0; b < n; b++) {
                    out[order[start + b]] = decoder.decode(probs, b * steps * decoder.numClasses(), steps);
                }
            } catch (OrtException e) {
                throw GlimpseException.internal("text recognition failed: " + e.getMessage(), e);
            }
        }
        return out;
    }

    @Override
    public void close() {
        closeQuietly(det, rec, cls);
    }

    private static void closeQuietly(OrtSession... sessions) {
        for (OrtSession s : sessions) {
            if (s == null) continue;
            try {
                s.close();
            } catch (OrtException ignored) {
                // closing; nothing to do
            }
        }
    }
}
