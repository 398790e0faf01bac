package dev.glimpse.convert.chameleon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Config and code <-> vocabulary mapping of the tiny random Chameleon checkpoint, against golden.json. */
class ChameleonVocabTest {

    static final Path DIR = Path.of("src/test/resources/golden/chameleon");

    @Test
    void codeNamesReadLettersAsDigits() {
        assertEquals(0, ChameleonVocab.codeOf("IMGIMGAZ"));
        assertEquals(12, ChameleonVocab.codeOf("IMGIMGBCZ"));
        assertEquals(8191, ChameleonVocab.codeOf("IMGIMGIBJBZ"));
        assertEquals(-1, ChameleonVocab.codeOf("<racm3:break>"));
        assertEquals(-1, ChameleonVocab.codeOf("IMGIMGKZ"));
        assertEquals(-1, ChameleonVocab.codeOf("IMGIMGZ"));
    }

    @Test
    void theTinyCheckpointMapsEveryCodeAsItsGoldenSays() throws Exception {
        ChameleonConfig cfg = ChameleonConfig.load(DIR.resolve("checkpoint"));
        assertEquals(8, cfg.vq().gridSide());
        assertEquals(64, cfg.vq().tokensPerImage());
        assertEquals(64, cfg.text().hidden());
        JsonNode config = new ObjectMapper().readTree(DIR.resolve("checkpoint/config.json").toFile());
        ChameleonVocab vocab = ChameleonVocab.fromVocabularyMap(config.get("vocabulary_map"), cfg.text().vocabSize(),
                cfg.vq().numEmbeddings());
        JsonNode golden = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
        for (Iterator<Map.Entry<String, JsonNode>> it = golden.get("image_code_examples").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int code = e.getValue().get("code").asInt();
            assertEquals(code, ChameleonVocab.codeOf(e.getKey()), e.getKey());
            assertEquals(e.getValue().get("id").asLong(), vocab.idOfCode(code), e.getKey());
            assertEquals(code, vocab.codeOfId(vocab.idOfCode(code)));
        }
        // The expanded prompt: the image-token ids of the golden input are the golden codes, mapped.
        JsonNode ids = golden.get("input_ids");
        JsonNode codes = golden.get("image_codes").get(0);
        int start = 19;   // after <s>, the text and <racm3:break>
        for (int i = 0; i < codes.size(); i++) assertEquals(vocab.idOfCode(codes.get(i).asInt()), ids.get(start + i).asLong());
        assertEquals(golden.at("/special_ids/<racm3:break>").asLong(), vocab.special("<racm3:break>"));
        assertEquals(golden.at("/special_ids/<eoss>").asLong(), vocab.special("<eoss>"));
        assertEquals(64, vocab.imageTokenIds().length);
        assertFalse(vocab.isImageToken(vocab.special("<image>")));
    }
}
