package dev.glimpse.ocr;

import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The real PP-OCRv4 models on committed images. */
class OcrPipelineTest {

    static final Path PHOTO = Path.of("src/test/resources/ocr/photo.jpg");
    static final Path PHOTO_GT = Path.of("src/test/resources/ocr/photo.gt.txt");

    static DecodedImage decode(Path p) throws Exception {
        return ImageDecoder.decode(Files.readAllBytes(p), ImageLimits.DEFAULT);
    }

    @Test
    void readsThePhotoExactly() throws Exception {
        OcrResult r = OcrModels.pipeline().run(decode(PHOTO), 0.5);
        String expected = Files.readString(PHOTO_GT, StandardCharsets.UTF_8).strip();
        System.out.println(r.text() + "\n" + r.timings());
        r.lines().forEach(l -> System.out.println(l.text() + " " + l.confidence() + " " + l.box()));
        assertEquals(expected, r.text());
        assertEquals(3, r.lines().size());
        for (OcrLine l : r.lines()) assertTrue(l.confidence() > 0.8, l.toString());
    }
}
