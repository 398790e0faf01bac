package dev.glimpse.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tiny Chameleon checkpoint's tokenizer.json read through DJL gives exactly the ids of Hugging Face's processor
 * (golden.json, written by training/make_tiny_chameleon.py and checked there against the tokenizers library).
 */
class HfTokenizerTest {

    static final Path DIR = Path.of("src/test/resources/golden/chameleon");

    @Test
    void encodesTheMixedPromptLikeHuggingFace() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
        long[] expected = StreamSupport.stream(golden.get("placeholder_input_ids").spliterator(), false)
                .mapToLong(JsonNode::asLong).toArray();
        try (HfTokenizer tok = HfTokenizer.load(DIR.resolve("checkpoint/tokenizer.json"), true)) {
            long[] ids = tok.encode(golden.get("prompt_string").asText());
            assertArrayEquals(expected, ids);
            assertEquals(golden.get("special_ids").get("<racm3:break>").asLong(), ids[18]);
        }
    }

    @Test
    void decodesWhatItEncodes() {
        try (HfTokenizer tok = HfTokenizer.load(DIR.resolve("checkpoint/tokenizer.json"), false)) {
            String text = "Which one is bigger? A red circle, 3 squares.";
            assertEquals(text, tok.decode(tok.encode(text), true));
        }
    }
}
