package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageDecoderTest {

    private static final ImageLimits LIMITS = ImageLimits.DEFAULT;

    /**
     * 8x6 test card, in BGR as OpenCV stores it: left half (x < 4) red, right half blue, except pixel (1, 1) = RGB
     * (10, 200, 30) and pixel (6, 4) = RGB (250, 251, 252).
     */
    private static Mat card() {
        OpenCvLoader.ensureLoaded();
        Mat m = new Mat(6, 8, CvType.CV_8UC3, new Scalar(0, 0, 255));
        m.submat(new Rect(4, 0, 4, 6)).setTo(new Scalar(255, 0, 0));
        m.put(1, 1, 30, 200, 10);
        m.put(4, 6, 252, 251, 250);
        return m;
    }

    private static void assertPixel(DecodedImage img, int x, int y, int r, int g, int b) {
        assertArrayEquals(new int[]{r, g, b},
                new int[]{img.channel(x, y, 0), img.channel(x, y, 1), img.channel(x, y, 2)}, "pixel (" + x + "," + y + ")");
    }

    private static void assertPixelNear(DecodedImage img, int x, int y, int r, int g, int b, int tolerance) {
        int[] actual = {img.channel(x, y, 0), img.channel(x, y, 1), img.channel(x, y, 2)};
        int[] expected = {r, g, b};
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(actual[c] - expected[c]) <= tolerance,
                    "pixel (" + x + "," + y + ") expected ~" + Arrays.toString(expected) + " got " + Arrays.toString(actual));
        }
    }

    private static void assertCard(DecodedImage img) {
        assertEquals(8, img.width());
        assertEquals(6, img.height());
        assertPixel(img, 0, 0, 255, 0, 0);
        assertPixel(img, 7, 5, 0, 0, 255);
        assertPixel(img, 1, 1, 10, 200, 30);
        assertPixel(img, 6, 4, 250, 251, 252);
    }

    private static GlimpseException assertInvalid(byte[] bytes) {
        GlimpseException e = assertThrows(GlimpseException.class, () -> ImageDecoder.decode(bytes, LIMITS));
        assertEquals(400, e.status(), e.getMessage());
        assertEquals("invalid_image", e.code());
        return e;
    }

    @Test
    void pngBgrBecomesRgb() {
        assertCard(ImageDecoder.decode(TestImages.encode(card(), ".png"), LIMITS));
    }

    @Test
    void bmp() {
        assertCard(ImageDecoder.decode(TestImages.encode(card(), ".bmp"), LIMITS));
    }

    @Test
    void webpLossless() {
        assertCard(ImageDecoder.decode(TestImages.encode(card(), ".webp", Imgcodecs.IMWRITE_WEBP_QUALITY, 101), LIMITS));
    }

    @Test
    void webpLossyIsClose() {
        OpenCvLoader.ensureLoaded();
        Mat m = new Mat(32, 64, CvType.CV_8UC3, new Scalar(0, 0, 255)); // red
        m.submat(new Rect(32, 0, 32, 32)).setTo(new Scalar(255, 0, 0)); // right half blue
        DecodedImage img = ImageDecoder.decode(TestImages.encode(m, ".webp", Imgcodecs.IMWRITE_WEBP_QUALITY, 90), LIMITS);
        assertEquals(64, img.width());
        assertEquals(32, img.height());
        assertPixelNear(img, 8, 16, 255, 0, 0, 12);
        assertPixelNear(img, 56, 16, 0, 0, 255, 12);
    }

    @Test
    void jpegIsClose() {
        OpenCvLoader.ensureLoaded();
        Mat m = new Mat(32, 48, CvType.CV_8UC3, new Scalar(0, 0, 255));
        m.submat(new Rect(16, 0, 32, 32)).setTo(new Scalar(0, 255, 0));
        DecodedImage img = ImageDecoder.decode(TestImages.encode(m, ".jpg", Imgcodecs.IMWRITE_JPEG_QUALITY, 95), LIMITS);
        assertEquals(48, img.width());
        assertEquals(32, img.height());
        assertPixelNear(img, 4, 4, 255, 0, 0, 8);
        assertPixelNear(img, 40, 28, 0, 255, 0, 8);
    }

    @Test
    void grayscalePngBecomesThreeEqualChannels() {
        OpenCvLoader.ensureLoaded();
        Mat gray = new Mat(3, 4, CvType.CV_8UC1, new Scalar(77));
        gray.put(2, 3, 201);
        DecodedImage img = ImageDecoder.decode(TestImages.encode(gray, ".png"), LIMITS);
        assertPixel(img, 0, 0, 77, 77, 77);
        assertPixel(img, 3, 2, 201, 201, 201);
    }

    @Test
    void sixteenBitPngKeepsTheHighByte() {
        OpenCvLoader.ensureLoaded();
        Mat m = new Mat(2, 3, CvType.CV_16UC3, new Scalar(0x0102, 0x80FF, 0xFFFF)); // B, G, R
        m.put(1, 2, 0x1234, 0x00FF, 0xFF00);
        DecodedImage img = ImageDecoder.decode(TestImages.encode(m, ".png"), LIMITS);
        assertPixel(img, 0, 0, 0xFF, 0x80, 0x01);
        assertPixel(img, 2, 1, 0xFF, 0x00, 0x12);
    }

    @Test
    void rgbaPngIsCompositedOnWhite() {
        OpenCvLoader.ensureLoaded();
        Mat m = new Mat(1, 4, CvType.CV_8UC4);
        m.put(0, 0, 0, 100, 200, 128); // B, G, R, A: RGB (200, 100, 0) at alpha 128
        m.put(0, 1, 10, 20, 30, 0);    // fully transparent -> white
        m.put(0, 2, 10, 20, 30, 255);  // opaque -> unchanged
        m.put(0, 3, 255, 0, 1, 1);     // almost transparent
        DecodedImage img = ImageDecoder.decode(TestImages.encode(m, ".png"), LIMITS);
        // (c*a + 255*(255-a) + 127) / 255: (200*128 + 32385 + 127)/255 = 227, (100*128 + ...)/255 = 177, 127.
        assertPixel(img, 0, 0, 227, 177, 127);
        assertPixel(img, 1, 0, 255, 255, 255);
        assertPixel(img, 2, 0, 30, 20, 10);
        // a = 1: R: (1 + 64770 + 127)/255 = 254, G: (0 + 64897)/255 = 254, B: (255 + 64897)/255 = 255
        assertPixel(img, 3, 0, 254, 254, 255);
    }

    @Test
    void onWhiteRoundsHalfUpExactly() {
        for (int a = 0; a <= 255; a++) {
            for (int c = 0; c <= 255; c++) {
                double exact = (c * a + 255.0 * (255 - a)) / 255.0;
                assertEquals((int) Math.floor(exact + 0.5), ImageDecoder.onWhite(c, a), "c=" + c + " a=" + a);
            }
        }
    }

    @Test
    void gifFirstFrameWithTransparencyOnWhite() {
        // Palette: 0 red, 1 green, 2 blue, 3 transparent. (The JDK GIF writer rewrites pixels that use the transparent
        // index, so the transparency is moved afterwards: the Graphic Control Extension's index is patched to 1.)
        byte[] r = {(byte) 255, 0, 0, 0};
        byte[] g = {0, (byte) 255, 0, 0};
        byte[] b = {0, 0, (byte) 200, 0};
        BufferedImage img = new BufferedImage(5, 3, BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(8, 4, r, g, b, 3));
        img.getRaster().setSample(1, 0, 0, 1);
        img.getRaster().setSample(4, 2, 0, 2);
        byte[] gif = TestImages.imageIo(img, "gif");
        int gce = indexOf(gif, new byte[]{0x21, (byte) 0xF9, 0x04});
        assertTrue(gce > 0, "no Graphic Control Extension written");
        assertEquals(1, gif[gce + 3] & 1, "transparency flag");
        assertEquals(3, gif[gce + 6]);
        gif[gce + 6] = 1;

        DecodedImage decoded = ImageDecoder.decode(gif, LIMITS);
        assertEquals(5, decoded.width());
        assertEquals(3, decoded.height());
        assertPixel(decoded, 0, 0, 255, 0, 0);
        assertPixel(decoded, 1, 0, 255, 255, 255); // transparent green -> white
        assertPixel(decoded, 4, 2, 0, 0, 200);
    }

    @Test
    void gifInterlacedAndPlainRowsLandInPlace() {
        // Row y has its one coloured pixel at x = y % 5 (green on even rows, blue on odd). Heights 2..4 exercise the
        // JDK reader's interlace bug that GifDecoder works around; the JDK writer interlaces by default.
        byte[] r = {(byte) 255, 0, 0};
        byte[] g = {0, (byte) 255, 0};
        byte[] b = {0, 0, (byte) 200};
        for (int h : new int[]{1, 2, 3, 4, 5, 9, 17}) {
            BufferedImage img = new BufferedImage(5, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 3, r, g, b));
            for (int y = 0; y < h; y++) {
                img.getRaster().setSample(y % 5, y, 0, 1 + y % 2);
            }
            for (boolean interlaced : new boolean[]{true, false}) {
                byte[] gif = TestImages.gif(img, interlaced);
                DecodedImage decoded = ImageDecoder.decode(gif, LIMITS);
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < 5; x++) {
                        int[] want = x != y % 5 ? new int[]{255, 0, 0} : y % 2 == 0 ? new int[]{0, 255, 0} : new int[]{0, 0, 200};
                        assertPixel(decoded, x, y, want[0], want[1], want[2]);
                    }
                }
            }
        }
        assertArrayEquals(new int[]{0, 2, 1}, GifDecoder.interlacedRows(3));
        assertArrayEquals(new int[]{0, 8, 4, 2, 6, 1, 3, 5, 7, 9}, GifDecoder.interlacedRows(10));
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * A JPEG stored 64x32 with quadrants TL red, TR blue, BL green, BR white, plus an APP1 Exif segment with
     * orientation 6 ("rotate 90 degrees clockwise to display"). Displayed it is 32x64: TL green, TR red, BL white,
     * BR blue.
     */
    @Test
    void jpegExifOrientationIsApplied() {
        OpenCvLoader.ensureLoaded();
        Mat m = new Mat(32, 64, CvType.CV_8UC3);
        m.submat(new Rect(0, 0, 32, 16)).setTo(new Scalar(0, 0, 255));
        m.submat(new Rect(32, 0, 32, 16)).setTo(new Scalar(255, 0, 0));
        m.submat(new Rect(0, 16, 32, 16)).setTo(new Scalar(0, 255, 0));
        m.submat(new Rect(32, 16, 32, 16)).setTo(new Scalar(255, 255, 255));
        byte[] plain = TestImages.encode(m, ".jpg", Imgcodecs.IMWRITE_JPEG_QUALITY, 95);

        DecodedImage upright = ImageDecoder.decode(plain, LIMITS);
        assertEquals(64, upright.width());
        assertEquals(32, upright.height());
        assertPixelNear(upright, 8, 4, 255, 0, 0, 10);

        byte[] rotated = withExifOrientation(plain, 6);
        assertEquals(new ImageHeader(ImageFormat.JPEG, 64, 32), ImageHeader.read(rotated)); // stored size
        DecodedImage img = ImageDecoder.decode(rotated, LIMITS);
        assertEquals(32, img.width());
        assertEquals(64, img.height());
        assertPixelNear(img, 8, 8, 0, 255, 0, 10);       // TL green
        assertPixelNear(img, 24, 8, 255, 0, 0, 10);      // TR red
        assertPixelNear(img, 8, 56, 255, 255, 255, 10);  // BL white
        assertPixelNear(img, 24, 56, 0, 0, 255, 10);     // BR blue
    }

    /** Inserts, right after SOI, APP1 "Exif\0\0" + big-endian TIFF with one IFD0 entry: Orientation (0x0112). */
    private static byte[] withExifOrientation(byte[] jpeg, int orientation) {
        byte[] tiff = {
                'M', 'M', 0, 42, 0, 0, 0, 8,                 // header, IFD0 at offset 8
                0, 1,                                        // one entry
                0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0, // tag, SHORT, count 1, value
                0, 0, 0, 0};                                 // no next IFD
        byte[] payload = TestImages.concat("Exif\0\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII), tiff);
        int length = payload.length + 2;
        byte[] app1 = TestImages.concat(new byte[]{(byte) 0xFF, (byte) 0xE1, (byte) (length >> 8), (byte) length},
                payload);
        return TestImages.concat(Arrays.copyOf(jpeg, 2), app1, Arrays.copyOfRange(jpeg, 2, jpeg.length));
    }

    @Test
    void hugeHeaderIsRefusedBeforeDecoding() {
        GlimpseException e = assertThrows(GlimpseException.class,
                () -> ImageDecoder.decode(TestImages.pngHeaderOnly(30_000, 30_000), LIMITS));
        assertEquals(413, e.status());
        assertEquals("image_too_large", e.code());
    }

    @Test
    void limitsApplyToDecodedSize() {
        byte[] png = TestImages.encode(card(), ".png");
        GlimpseException e = assertThrows(GlimpseException.class,
                () -> ImageDecoder.decode(png, new ImageLimits(1 << 20, 47, 100)));
        assertEquals(413, e.status());
        assertCard(ImageDecoder.decode(png, new ImageLimits(1 << 20, 48, 8)));
    }

    @Test
    void truncatedPng() {
        byte[] png = TestImages.encode(noise(40, 30, 1), ".png");
        GlimpseException e = assertInvalid(Arrays.copyOf(png, png.length / 2));
        assertTrue(e.getMessage().contains("PNG"), e.getMessage());
        // Valid signature + IHDR and nothing else.
        assertInvalid(TestImages.pngHeaderOnly(16, 16));
    }

    @Test
    void truncatedJpegIsRefusedButTrailingBytesAreFine() {
        // libjpeg would return a grey-filled image for a truncated JPEG; Glimpse refuses it as Pillow does.
        byte[] jpeg = TestImages.encode(noise(40, 30, 4), ".jpg");
        GlimpseException e = assertInvalid(Arrays.copyOf(jpeg, jpeg.length - 40));
        assertTrue(e.getMessage().startsWith("truncated JPEG"), e.getMessage());
        // Bytes after the end-of-image marker (some cameras append data) do not matter.
        DecodedImage img = ImageDecoder.decode(TestImages.concat(jpeg, new byte[]{1, 2, 3, 4}), LIMITS);
        assertEquals(40, img.width());
        // An EXIF thumbnail's end marker before the scan does not count as the image's end.
        byte[] withExif = TestImages.concat(Arrays.copyOf(jpeg, 2),
                new byte[]{(byte) 0xFF, (byte) 0xE1, 0, 8, 'E', 'x', (byte) 0xFF, (byte) 0xD9, 0, 0},
                Arrays.copyOfRange(jpeg, 2, jpeg.length - 40));
        assertInvalid(withExif);
    }

    @Test
    void garbageAfterValidHeaders() {
        byte[] garbage = new byte[2000];
        new Random(7).nextBytes(garbage);
        assertInvalid(TestImages.concat(TestImages.pngHeaderOnly(16, 16), garbage));
        byte[] webp = TestImages.encode(noise(40, 30, 2), ".webp");
        assertInvalid(TestImages.concat(Arrays.copyOf(webp, 30), garbage));
        byte[] gif = TestImages.imageIo(new BufferedImage(9, 9, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        assertInvalid(TestImages.concat(Arrays.copyOf(gif, 13), garbage));
    }

    @Test
    void decodeIsThreadSafe() throws Exception {
        byte[] png = TestImages.encode(noise(64, 48, 3), ".png");
        byte[] expected = ImageDecoder.decode(png, LIMITS).rgb();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                results.add(pool.submit(() -> ImageDecoder.decode(png, LIMITS).rgb()));
            }
            for (Future<byte[]> f : results) {
                assertArrayEquals(expected, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static Mat noise(int w, int h, long seed) {
        OpenCvLoader.ensureLoaded();
        byte[] data = new byte[w * h * 3];
        new Random(seed).nextBytes(data);
        Mat m = new Mat(h, w, CvType.CV_8UC3);
        m.put(0, 0, data);
        return m;
    }
}
