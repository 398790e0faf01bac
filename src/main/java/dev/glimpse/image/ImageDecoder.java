package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Encoded bytes -> {@link DecodedImage} (8-bit RGB). Stateless and thread-safe: every call owns its native Mats and
 * its ImageIO reader and releases them before returning.
 *
 * <p>Order of checks: encoded length and header-claimed size against {@link ImageLimits} (413, no pixel work), then the
 * codec; a codec failure of any kind becomes 400 invalid_image, never an OpenCV or ImageIO exception.
 *
 * <ul>
 *   <li>PNG, WebP, BMP: OpenCV {@code IMREAD_UNCHANGED}, so alpha survives and can be composited on white. 16-bit
 *       samples keep their high byte ({@code v >> 8}), which is what Pillow does for 16-bit RGB(A) PNGs.</li>
 *   <li>JPEG: OpenCV {@code IMREAD_COLOR}, which applies the EXIF orientation tag (rotated/flipped output).</li>
 *   <li>GIF: OpenCV 4.9 has no GIF codec, so javax.imageio reads the first frame, placed at its offset on a white
 *       canvas of the logical-screen size; transparent pixels become white.</li>
 * </ul>
 *
 * <p>Alpha compositing onto white, per channel, as the model family's reference does it ({@link Alpha}): by default in
 * exact integer arithmetic with round-half-up, {@code out = (c*a + 255*(255-a) + 127) / 255}, i.e.
 * round(a/255 * c + (1 - a/255) * 255); Chameleon's processor computes the same in float64 and truncates.
 */
public final class ImageDecoder {

    private ImageDecoder() {
    }

    /** How a pixel with alpha becomes RGB on white. */
    public enum Alpha {
        /** round(a/255 * c + (1 - a/255) * 255), exact integers. */
        ROUND,
        /** Hugging Face's ChameleonImageProcessor.blend_rgba: (1 - a/255) * 255 + a/255 * c in float64, truncated. */
        TRUNCATE_FLOAT64
    }

    public static DecodedImage decode(byte[] bytes, ImageLimits limits) {
        return decode(bytes, limits, Alpha.ROUND);
    }

    public static DecodedImage decode(byte[] bytes, ImageLimits limits, Alpha alpha) {
        ImageHeader header = ImageHeader.read(bytes, limits);
        DecodedImage image = switch (header.format()) {
            case GIF -> GifDecoder.decode(bytes, header, limits);
            case JPEG -> {
                requireJpegEnd(bytes);
                yield decodeWithOpenCv(bytes, header, Imgcodecs.IMREAD_COLOR, alpha);
            }
            case PNG, WEBP, BMP -> decodeWithOpenCv(bytes, header, Imgcodecs.IMREAD_UNCHANGED, alpha);
        };
        // The codec's canvas, not only the header's claim, must be within the limits.
        limits.requireDimensionsWithin(image.width(), image.height());
        return image;
    }

    private static DecodedImage decodeWithOpenCv(byte[] bytes, ImageHeader header, int flags, Alpha alpha) {
        OpenCvLoader.ensureLoaded();
        MatOfByte encoded = new MatOfByte(bytes); // copies into native memory; released below
        Mat mat = null;
        try {
            mat = Imgcodecs.imdecode(encoded, flags);
            if (mat == null || mat.empty()) {
                throw ImageHeader.invalid("could not decode the " + header.format()
                        + " image: the data is corrupt or truncated");
            }
            return toRgb(mat, header.format(), alpha);
        } catch (GlimpseException e) {
            throw e;
        } catch (RuntimeException e) { // CvException and anything else from the binding
            throw GlimpseException.invalid("invalid_image", "messages",
                    "could not decode the " + header.format() + " image: " + e.getMessage(), e);
        } finally {
            encoded.release();
            if (mat != null) {
                mat.release();
            }
        }
    }

    /**
     * libjpeg decodes a truncated JPEG "successfully", filling the missing part with grey; Pillow refuses it ("image
     * file is truncated"), and so does Glimpse: an end-of-image marker (FF D9) must follow the first scan. Inside
     * entropy-coded data a 0xFF byte is always followed by 00 or a restart marker, so FF D9 there is the real end; an
     * EXIF thumbnail's own EOI comes before the first scan and does not count.
     */
    private static void requireJpegEnd(byte[] b) {
        int pos = 2;
        // Walk the marker segments to the first SOS (FF DA); ImageHeader has already validated up to the SOF.
        while (pos + 4 <= b.length) {
            if ((b[pos] & 0xFF) != 0xFF) {
                break;
            }
            int marker = b[pos + 1] & 0xFF;
            if (marker == 0xFF) {
                pos++;
                continue;
            }
            if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) {
                pos += 2;
                continue;
            }
            int length = ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
            pos += 2 + length;
            if (marker == 0xDA) {
                for (int i = pos; i + 1 < b.length; i++) {
                    if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xD9) {
                        return;
                    }
                }
                break;
            }
        }
        throw ImageHeader.invalid("truncated JPEG: no end-of-image marker after the image data");
    }

    /**
     * The common case (8-bit, no alpha: every JPEG, most PNGs): one native colour conversion and one bulk copy, instead of
     * a per-pixel Java loop (about 8 ms less per 1024x768 image).
     */
    private static DecodedImage opaque8(Mat mat, int ch) {
        Mat rgb = new Mat();
        try {
            Imgproc.cvtColor(mat, rgb, ch == 3 ? Imgproc.COLOR_BGR2RGB : Imgproc.COLOR_GRAY2RGB);
            byte[] out = new byte[mat.cols() * mat.rows() * 3];
            rgb.get(0, 0, out);
            return new DecodedImage(mat.cols(), mat.rows(), out);
        } finally {
            rgb.release();
        }
    }

    // mat: (rows, cols, channels) in B,G,R[,A] order (or gray[,alpha]), CV_8U or CV_16U. Copied out one row at a
    // time so the Java heap holds only the RGB result plus one row, never a second full-size copy.
    private static DecodedImage toRgb(Mat mat, ImageFormat format, Alpha alpha) {
        int w = mat.cols();
        int h = mat.rows();
        int ch = mat.channels();
        int depth = CvType.depth(mat.type());
        if (ch < 1 || ch > 4) {
            throw ImageHeader.invalid("unsupported " + format + " layout: " + ch + " channels");
        }
        if (depth != CvType.CV_8U && depth != CvType.CV_16U) {
            throw ImageHeader.invalid("unsupported " + format + " sample depth (OpenCV depth " + depth + ")");
        }
        if (depth == CvType.CV_8U && (ch == 3 || ch == 1)) {
            return opaque8(mat, ch);
        }
        boolean wide = depth == CvType.CV_16U;
        byte[] row8 = wide ? null : new byte[w * ch];
        short[] row16 = wide ? new short[w * ch] : null;
        int[] px = new int[4];
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0, o = 0; y < h; y++) {
            if (wide) {
                mat.get(y, 0, row16);
            } else {
                mat.get(y, 0, row8);
            }
            for (int x = 0; x < w; x++, o += 3) {
                for (int c = 0; c < ch; c++) {
                    int i = x * ch + c;
                    px[c] = wide ? (row16[i] & 0xFFFF) >>> 8 : row8[i] & 0xFF;
                }
                int r, g, b, a;
                switch (ch) {
                    case 1 -> { r = g = b = px[0]; a = 255; }
                    case 2 -> { r = g = b = px[0]; a = px[1]; }
                    case 3 -> { b = px[0]; g = px[1]; r = px[2]; a = 255; }
                    default -> { b = px[0]; g = px[1]; r = px[2]; a = px[3]; }
                }
                if (alpha == Alpha.ROUND) {
                    rgb[o] = (byte) onWhite(r, a);
                    rgb[o + 1] = (byte) onWhite(g, a);
                    rgb[o + 2] = (byte) onWhite(b, a);
                } else {
                    rgb[o] = (byte) onWhiteTruncated(r, a);
                    rgb[o + 1] = (byte) onWhiteTruncated(g, a);
                    rgb[o + 2] = (byte) onWhiteTruncated(b, a);
                }
            }
        }
        return new DecodedImage(w, h, rgb);
    }

    /** Composites one 8-bit channel value c with 8-bit alpha a onto white: round(c*a/255 + 255*(255-a)/255). */
    static int onWhite(int c, int a) {
        return (c * a + 255 * (255 - a) + 127) / 255;
    }

    /** The same in Hugging Face's float64 order of operations, truncated: (1 - a/255) * 255 + a/255 * c. */
    static int onWhiteTruncated(int c, int a) {
        double alpha = a / 255.0;
        return (int) ((1 - alpha) * 255 + alpha * c);
    }
}
