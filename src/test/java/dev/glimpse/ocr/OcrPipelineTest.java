package dev.glimpse.ocr;

import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** The real PP-OCRv4 models on the committed photo-like image (src/test/resources/ocr/, made by bench/ocr/generate.py --photo). */
class OcrPipelineTest {

    static final Path PHOTO = Path.of("src/test/resources/ocr/photo.jpg");
    static final Path PHOTO_GT = Path.of("src/test/resources/ocr/photo.gt.txt");

    static DecodedImage decode(Path p) throws Exception {
        return ImageDecoder.decode(Files.readAllBytes(p), ImageLimits.DEFAULT);
    }

    static String groundTruth() throws Exception {
        return Files.readString(PHOTO_GT, StandardCharsets.UTF_8).strip();
    }

    @Test
    void readsThePhotoExactly() throws Exception {
        OcrResult r = OcrModels.pipeline().run(decode(PHOTO), 0.5);
        assertEquals(groundTruth(), r.text());
        assertEquals(3, r.lines().size());
        for (OcrLine l : r.lines()) {
            assertTrue(l.confidence() > 0.8, l.toString());
            // each line's box is a convex quad inside the 900 x 420 image, wider than tall
            Quad q = l.box();
            assertTrue(q.minX() >= 0 && q.maxX() <= 899 && q.minY() >= 0 && q.maxY() <= 419, q.toString());
            assertTrue(q.width() > 3 * q.height(), q.toString());
        }
        assertTrue(r.timings().keySet().containsAll(List.of("det_ms", "crop_ms", "cls_ms", "rec_ms", "total_ms")), r.timings().toString());
    }

    @Test
    void theDirectionClassifierReadsThePhotoUpsideDown() throws Exception {
        DecodedImage photo = decode(PHOTO);
        byte[] rgb = photo.rgb();
        byte[] turned = new byte[rgb.length];
        int n = photo.width() * photo.height();
        for (int i = 0; i < n; i++) System.arraycopy(rgb, i * 3, turned, (n - 1 - i) * 3, 3);
        DecodedImage upsideDown = new DecodedImage(photo.width(), photo.height(), turned);
        OcrResult r = OcrModels.pipeline().run(upsideDown, 0.5, true);
        // turned 180 degrees, the last line is now on top: same lines, reverse order
        Set<String> expected = Set.of(groundTruth().split("\n"));
        assertEquals(expected, r.lines().stream().map(OcrLine::text).collect(Collectors.toSet()), r.text());
    }

    @Test
    void detectionSizesAreMultiplesOf32UnderTheLimit() {
        assertArrayEquals(new int[]{416, 896}, PpOcrPipeline.detSize(420, 900, 960, "max"));
        assertArrayEquals(new int[]{480, 960}, PpOcrPipeline.detSize(1000, 2000, 960, "max")); // scaled to 480 x 960
        assertArrayEquals(new int[]{32, 288}, PpOcrPipeline.detSize(20, 300, 960, "max"));      // never under 32; 300 / 32 rounds to 9
        assertArrayEquals(new int[]{736, 1472}, PpOcrPipeline.detSize(100, 200, 736, "min"));   // upscaled
        assertArrayEquals(new int[]{32, 4000}, PpOcrPipeline.detSize(1, 16384, 960, "min"));    // long side capped at 4000
        assertArrayEquals(new int[]{4000, 192}, PpOcrPipeline.detSize(4000, 200, 960, "min")); // 960/200 would give 19200
    }

    @Test
    void paddingIsHalfTheShortSideBetween8And32() {
        assertEquals(8, PpOcrPipeline.padding(300, 12));
        assertEquals(15, PpOcrPipeline.padding(300, 30));
        assertEquals(32, PpOcrPipeline.padding(900, 420));
    }

    /** The padding colour is the per-channel median of the outermost pixels, for thin images too. */
    @Test
    void padFillsWithTheBorderMedian() {
        // 5 x 4 image: border pixels are 14, of which 9 are RGB (30, 20, 10) and 5 (the bottom row) grey 200; the centre
        // (black) is not border
        byte[] rgb = new byte[5 * 4 * 3];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 5; x++) {
                boolean border = x == 0 || y == 0 || x == 4 || y == 3;
                boolean grey = y == 3;
                int[] c = !border ? new int[]{0, 0, 0} : grey ? new int[]{200, 200, 200} : new int[]{30, 20, 10};
                for (int k = 0; k < 3; k++) rgb[(y * 5 + x) * 3 + k] = (byte) c[k];
            }
        }
        for (DecodedImage img : List.of(new DecodedImage(5, 4, rgb), new DecodedImage(7, 1, java.util.Arrays.copyOf(rgb, 21)),
                new DecodedImage(1, 7, java.util.Arrays.copyOf(rgb, 21)))) {
            org.opencv.core.Mat bgr = PpOcrPipeline.toBgr(img);
            org.opencv.core.Mat padded = PpOcrPipeline.pad(bgr, 2);
            try {
                assertEquals(img.height() + 4, padded.rows());
                assertEquals(img.width() + 4, padded.cols());
                byte[] corner = new byte[3];
                padded.get(0, 0, corner);
                // BGR of the median: RGB (30, 20, 10) wins 9 to 5 on the 5 x 4 image and 6 to 1 (black) on the 7-pixel strips
                assertArrayEquals(new byte[]{10, 20, 30}, corner, img.width() + "x" + img.height());
            } finally {
                bgr.release();
                padded.release();
            }
        }
    }
}
