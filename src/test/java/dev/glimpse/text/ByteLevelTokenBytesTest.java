package dev.glimpse.text;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Streaming text of a byte-level tokenizer.json (the tiny Chameleon's) gives what the tokenizer itself decodes. */
class ByteLevelTokenBytesTest {

    static final Path JSON = Path.of("src/test/resources/golden/chameleon/checkpoint/tokenizer.json");

    @Test
    void streamedTextEqualsTheTokenizersOwnDecode() {
        ByteLevelTokenBytes bytes = ByteLevelTokenBytes.load(JSON);
        try (HfTokenizer tok = HfTokenizer.load(JSON, false)) {
            for (String text : new String[] {"Which one is bigger? A red circle, 3 squares.", "caf\u00e9 \u4e2d\u6587 \uD83D\uDE00!",
                    "  spaces\tand\nnewlines  "}) {
                long[] ids = tok.encode(text);
                IncrementalDetokenizer detok = new IncrementalDetokenizer(bytes);
                StringBuilder out = new StringBuilder();
                for (long id : ids) out.append(detok.push((int) id));
                out.append(detok.flush());
                assertEquals(tok.decode(ids, true), out.toString(), text);
                assertEquals(text, out.toString());
            }
        }
    }

    @Test
    void controlAndImageTokensAreSpecial() {
        ByteLevelTokenBytes bytes = ByteLevelTokenBytes.load(JSON);
        assertTrue(bytes.isSpecial(0));     // <s>
        assertTrue(bytes.isSpecial(69));    // <racm3:break>
        assertTrue(bytes.isSpecial(4));     // IMGIMGAZ
        assertFalse(bytes.isSpecial(104));
    }
}
