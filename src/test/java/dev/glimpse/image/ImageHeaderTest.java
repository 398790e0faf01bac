package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageHeaderTest {

    private static Mat bgr(int w, int h) {
        OpenCvLoader.ensureLoaded();
        return new Mat(h, w, CvType.CV_8UC3, new Scalar(10, 20, 30));
    }

    private static void assertHeader(ImageFormat format, int w, int h, byte[] bytes) {
        ImageHeader header = ImageHeader.read(bytes);
        assertEquals(new ImageHeader(format, w, h), header);
    }

    private static GlimpseException assertInvalid(byte[] bytes) {
        GlimpseException e = assertThrows(GlimpseException.class, () -> ImageHeader.read(bytes, ImageLimits.DEFAULT));
        assertEquals(400, e.status());
        assertEquals("invalid_image", e.code());
        assertEquals("messages", e.param());
        return e;
    }

    @Test
    void pngFromOpenCv() {
        assertHeader(ImageFormat.PNG, 37, 21, TestImages.encode(bgr(37, 21), ".png"));
    }

    @Test
    void jpegWalksPastApp0AndTablesToSof() {
        // ImageIO writes SOI, APP0 (JFIF), DQT..., SOF0: the sniffer must skip the segments before the frame header.
        byte[] jpeg = TestImages.imageIo(new BufferedImage(301, 17, BufferedImage.TYPE_3BYTE_BGR), "jpg");
        assertEquals(0xE0, jpeg[3] & 0xFF, "expected an APP0 segment first");
        assertHeader(ImageFormat.JPEG, 301, 17, jpeg);
        assertHeader(ImageFormat.JPEG, 40, 9, TestImages.encode(bgr(40, 9), ".jpg"));
    }

    @Test
    void progressiveJpegSof2() {
        byte[] jpeg = TestImages.encode(bgr(33, 65), ".jpg", Imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1);
        assertHeader(ImageFormat.JPEG, 33, 65, jpeg);
    }

    @Test
    void webpLossyAndLossless() {
        byte[] lossy = TestImages.encode(bgr(45, 23), ".webp", Imgcodecs.IMWRITE_WEBP_QUALITY, 80);
        byte[] lossless = TestImages.encode(bgr(45, 23), ".webp", Imgcodecs.IMWRITE_WEBP_QUALITY, 101);
        assertEquals("VP8 ", new String(lossy, 12, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals("VP8L", new String(lossless, 12, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertHeader(ImageFormat.WEBP, 45, 23, lossy);
        assertHeader(ImageFormat.WEBP, 45, 23, lossless);
    }

    @Test
    void webpExtendedCanvas() {
        // RIFF, size, WEBP, "VP8X", chunk size 10, flags, 3 reserved, canvas (w-1, h-1) as u24 LE: 1000 x 70000.
        byte[] b = new byte[30];
        System.arraycopy("RIFF\0\0\0\0WEBPVP8X".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, b, 0, 16);
        b[16] = 10;
        int w1 = 999;
        int h1 = 69_999;
        b[24] = (byte) w1;
        b[25] = (byte) (w1 >> 8);
        b[26] = (byte) (w1 >> 16);
        b[27] = (byte) h1;
        b[28] = (byte) (h1 >> 8);
        b[29] = (byte) (h1 >> 16);
        assertHeader(ImageFormat.WEBP, 1000, 70_000, b);
        GlimpseException e = assertThrows(GlimpseException.class, () -> ImageHeader.read(b, ImageLimits.DEFAULT));
        assertEquals(413, e.status());
    }

    @Test
    void bmpBottomUpAndTopDown() {
        byte[] bmp = TestImages.encode(bgr(13, 6), ".bmp");
        assertHeader(ImageFormat.BMP, 13, 6, bmp);
        // The same file with a negative height (top-down rows) has the same size.
        byte[] topDown = bmp.clone();
        int negative = -6;
        for (int i = 0; i < 4; i++) {
            topDown[22 + i] = (byte) (negative >> (8 * i));
        }
        assertHeader(ImageFormat.BMP, 13, 6, topDown);
    }

    @Test
    void gifLogicalScreen() {
        byte[] gif = TestImages.imageIo(new BufferedImage(19, 11, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        assertHeader(ImageFormat.GIF, 19, 11, gif);
    }

    @Test
    void hugePngHeaderIsRefusedWith413WithoutPixelData() {
        byte[] bomb = TestImages.pngHeaderOnly(30_000, 30_000);
        assertEquals(33, bomb.length);
        assertHeader(ImageFormat.PNG, 30_000, 30_000, bomb);
        GlimpseException e = assertThrows(GlimpseException.class, () -> ImageHeader.read(bomb, ImageLimits.DEFAULT));
        assertEquals(413, e.status());
        assertEquals("image_too_large", e.code());
        // Within maxSide but over maxPixels: 10000 x 10000 = 100 MP > 40 MP.
        GlimpseException pixels = assertThrows(GlimpseException.class,
                () -> ImageHeader.read(TestImages.pngHeaderOnly(10_000, 10_000), ImageLimits.DEFAULT));
        assertEquals(413, pixels.status());
        assertTrue(pixels.getMessage().contains("100000000 pixels"), pixels.getMessage());
    }

    @Test
    void encodedSizeOverLimitIs413() {
        byte[] png = TestImages.encode(bgr(8, 8), ".png");
        ImageLimits tiny = new ImageLimits(png.length - 1, 1_000, 100);
        GlimpseException e = assertThrows(GlimpseException.class, () -> ImageHeader.read(png, tiny));
        assertEquals(413, e.status());
        assertEquals(new ImageHeader(ImageFormat.PNG, 8, 8), ImageHeader.read(png, new ImageLimits(png.length, 64, 8)));
    }

    @Test
    void emptyBytes() {
        assertEquals("empty image", assertInvalid(new byte[0]).getMessage());
    }

    @Test
    void randomBytesAreNotAnImage() {
        byte[] noise = new byte[4096];
        new Random(42).nextBytes(noise);
        noise[0] = 0x42; // "B" without "M": must not look like BMP either
        noise[1] = 0x00;
        assertEquals("not a supported image (PNG, JPEG, WebP, BMP, GIF)", assertInvalid(noise).getMessage());
        assertEquals("not a supported image (PNG, JPEG, WebP, BMP, GIF)",
                assertInvalid("hello, world".getBytes()).getMessage());
    }

    @Test
    void truncatedHeaders() {
        byte[] png = TestImages.encode(bgr(5, 5), ".png");
        assertTrue(assertInvalid(Arrays.copyOf(png, 20)).getMessage().startsWith("truncated PNG header"));
        byte[] jpeg = TestImages.encode(bgr(5, 5), ".jpg");
        assertTrue(assertInvalid(Arrays.copyOf(jpeg, 30)).getMessage().startsWith("truncated JPEG header"));
        byte[] gif = TestImages.imageIo(new BufferedImage(3, 3, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        assertTrue(assertInvalid(Arrays.copyOf(gif, 8)).getMessage().startsWith("truncated GIF header"));
        byte[] webp = TestImages.encode(bgr(5, 5), ".webp");
        assertTrue(assertInvalid(Arrays.copyOf(webp, 24)).getMessage().startsWith("truncated WEBP header"));
        byte[] bmp = TestImages.encode(bgr(5, 5), ".bmp");
        assertTrue(assertInvalid(Arrays.copyOf(bmp, 20)).getMessage().startsWith("truncated BMP header"));
    }

    @Test
    void malformedHeaders() {
        byte[] png = TestImages.pngHeaderOnly(0, 10);
        assertTrue(assertInvalid(png).getMessage().contains("0x10"));
        // A JPEG whose scan starts before any frame header.
        byte[] noSof = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0, 8, 1, 2, 3, 4, 5, 6};
        assertTrue(assertInvalid(noSof).getMessage().contains("no frame header"));
    }
}
