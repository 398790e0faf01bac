package dev.glimpse.engine;

import dev.glimpse.convert.SafeTensors;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.image.KimiVlPreprocessor;
import dev.glimpse.image.KimiVlPreprocessorConfig;
import dev.glimpse.image.PixelPatches;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.KimiChatTemplate;
import dev.glimpse.text.TextPart;
import dev.glimpse.text.TiktokenTokenizer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The inputs the model sees, built the way the server builds them (OpenCV decode, Java preprocessing, Java chat template
 * and tokenizer), equal the PyTorch reference's exactly: pixel_values, grid sizes and prompt ids.
 */
class KimiVlInputParityTest {

    static final Path CARD = Path.of("src/test/resources/golden/kimivl/checkpoint");
    static final Path GOLDEN = Path.of("src/test/resources/golden/kimivl");

    @Test
    void pixelValuesAndGridsEqualReference() throws Exception {
        KimiVlPreprocessor pre = new KimiVlPreprocessor(KimiVlPreprocessorConfig.fromJson(CARD.resolve("preprocessor_config.json")));
        SafeTensors golden = SafeTensors.open(GOLDEN.resolve("golden.safetensors"));
        float[] expected = golden.floats("pixel_values");
        long[] grids = SafeTensors.toLongs(golden.entry("grid_hws"));
        int off = 0;
        String[] files = {"a.png", "b.png"};
        for (int i = 0; i < files.length; i++) {
            DecodedImage img = ImageDecoder.decode(Files.readAllBytes(GOLDEN.resolve(files[i])), ImageLimits.DEFAULT);
            PixelPatches p = pre.process(img);
            assertEquals(grids[2 * i], p.gridH(), files[i] + " grid h");
            assertEquals(grids[2 * i + 1], p.gridW(), files[i] + " grid w");
            for (int k = 0; k < p.pixelValues().length; k++) {
                assertEquals(expected[off + k], p.pixelValues()[k], 0f, files[i] + " pixel_values[" + k + "]");
            }
            off += p.pixelValues().length;
        }
        assertEquals(expected.length, off, "all patches accounted for");
    }

    @Test
    void promptIdsEqualReference() {
        TiktokenTokenizer tok = TiktokenTokenizer.load(CARD.resolve("tiktoken.model"), CARD.resolve("tokenizer_config.json"));
        KimiChatTemplate template = new KimiChatTemplate(tok);
        List<ChatMessage> messages = List.of(new ChatMessage("user",
                List.of(new ImagePart(0), new ImagePart(1), new TextPart("What color is the circle?"))));
        int[] ids = template.render(messages, List.of(8, 12), true);
        long[] expected = SafeTensors.toLongs(SafeTensors.open(GOLDEN.resolve("golden.safetensors")).entry("input_ids"));
        List<Long> got = new ArrayList<>();
        for (int id : ids) got.add((long) id);
        List<Long> want = new ArrayList<>();
        for (long id : expected) want.add(id);
        assertEquals(want, got);
    }
}
