package dev.glimpse.text;

import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IncrementalDetokenizerTest {

    private static TiktokenTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = TextSamples.fixtureTokenizer();
    }

    /** The id of the single-byte token for b. */
    private static int byteId(int b) {
        for (int id = 0; id < tokenizer.baseVocabSize(); id++) {
            byte[] bytes = tokenizer.tokenBytes(id);
            if (bytes.length == 1 && (bytes[0] & 0xFF) == b) {
                return id;
            }
        }
        throw new AssertionError("no token for byte " + b);
    }

    private static int[] byteIds(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = byteId(bytes[i] & 0xFF);
        }
        return ids;
    }

    private static List<String> pushAll(IncrementalDetokenizer detokenizer, int... ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) {
            out.add(detokenizer.push(id));
        }
        return out;
    }

    @Test
    void multiByteCharactersWaitUntilComplete() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tokenizer);
        assertThat(pushAll(d, byteIds("é"))).containsExactly("", "é");
        assertThat(pushAll(d, byteIds("中"))).containsExactly("", "", "中");
        assertThat(pushAll(d, byteIds("😀"))).containsExactly("", "", "", "😀");
        assertThat(pushAll(d, byteIds("a中b"))).containsExactly("a", "", "", "中", "b");
        assertThat(d.flush()).isEmpty();
    }

    /** The id of the token with exactly these bytes (the fixture has such tokens: BPE merges across characters). */
    private static int idOf(int... bytes) {
        byte[] wanted = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            wanted[i] = (byte) bytes[i];
        }
        for (int id = 0; id < tokenizer.baseVocabSize(); id++) {
            if (Arrays.equals(tokenizer.tokenBytes(id), wanted)) {
                return id;
            }
        }
        throw new AssertionError("no token " + Arrays.toString(bytes));
    }

    @Test
    void tokensThatEndInsideACharacterEmitOnlyTheCompletePart() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tokenizer);
        // "r" + first byte of "é"
        assertThat(d.push(idOf('r', 0xC3))).isEqualTo("r");
        assertThat(d.push(byteId(0xA9))).isEqualTo("é");
        // " " + three of the four bytes of "😀"
        assertThat(d.push(idOf(' ', 0xF0, 0x9F, 0x98))).isEqualTo(" ");
        assertThat(d.push(byteId(0x80))).isEqualTo("😀");
        // "👨‍👩": a token that finishes the zero-width joiner and starts the next emoji.
        byte[] family = "👨\u200D👩".getBytes(StandardCharsets.UTF_8);
        assertThat(family).hasSize(11);
        int[] ids = {byteId(0xF0), byteId(0x9F), byteId(0x91), byteId(0xA8), idOf(0xE2, 0x80, 0x8D, 0xF0, 0x9F),
                byteId(0x91), byteId(0xA9)};
        assertThat(pushAll(d, ids)).containsExactly("", "", "", "👨", "\u200D", "", "👩");
        assertThat(d.flush()).isEmpty();
    }

    @Test
    void matchesDecodeOnValidText() {
        Random rnd = new Random(7);
        int heldBack = 0;
        for (int i = 0; i < 2000; i++) {
            String text = TextSamples.random(rnd, 80);
            int[] ids = tokenizer.encode(text);
            IncrementalDetokenizer d = new IncrementalDetokenizer(tokenizer);
            StringBuilder streamed = new StringBuilder();
            int pushedBytes = 0;
            for (int id : ids) {
                streamed.append(d.push(id));
                pushedBytes += tokenizer.tokenBytes(id).length;
                // Each chunk ends on a character boundary of the text: no half characters, no early U+FFFD.
                assertThat(text).startsWith(streamed);
                assertThat(streamed.length() < text.length() && Character.isLowSurrogate(text.charAt(streamed.length())))
                        .as("split a surrogate pair").isFalse();
                if (streamed.toString().getBytes(StandardCharsets.UTF_8).length < pushedBytes) {
                    heldBack++;
                }
            }
            streamed.append(d.flush());
            assertThat(streamed.toString()).isEqualTo(text);
        }
        // The random text really did split characters across tokens.
        assertThat(heldBack).isGreaterThan(1000);
    }

    @Test
    void matchesDecodeOnArbitraryIds() {
        Random rnd = new Random(8);
        for (int i = 0; i < 3000; i++) {
            int[] ids = new int[rnd.nextInt(30)];
            for (int k = 0; k < ids.length; k++) {
                // Mostly single bytes (invalid sequences are likely), some longer tokens, some specials.
                int kind = rnd.nextInt(10);
                ids[k] = kind < 6 ? byteId(rnd.nextInt(256))
                        : kind < 9 ? rnd.nextInt(tokenizer.baseVocabSize())
                        : tokenizer.baseVocabSize() + rnd.nextInt(TiktokenTokenizer.SPECIAL_TOKEN_COUNT);
            }
            for (boolean skip : new boolean[]{true, false}) {
                IncrementalDetokenizer d = new IncrementalDetokenizer(tokenizer, skip);
                StringBuilder streamed = new StringBuilder();
                for (int id : ids) {
                    streamed.append(d.push(id));
                }
                streamed.append(d.flush());
                assertThat(streamed.toString()).as("ids %s skip %s", Arrays.toString(ids), skip)
                        .isEqualTo(tokenizer.decode(ids, skip));
            }
        }
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tokenizer);
        // An incomplete tail waits for flush.
        assertThat(d.push(byteId(0xE4))).isEmpty();
        assertThat(d.push(byteId(0xB8))).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD");
        // A byte that can never start a character is replaced at once; a broken sequence as soon as it is broken.
        assertThat(d.push(byteId(0xFF))).isEqualTo("\uFFFD");
        assertThat(d.push(byteId(0xC3))).isEmpty();
        assertThat(d.push(byteId('a'))).isEqualTo("\uFFFDa");
        assertThat(d.push(byteId(0x80))).isEqualTo("\uFFFD");
        assertThat(d.flush()).isEmpty();
        // The detokenizer is usable again after flush.
        assertThat(pushAll(d, byteIds("é"))).containsExactly("", "é");
    }

    @Test
    void specialTokensAreSkippedByDefault() {
        int end = tokenizer.specialId("<|im_end|>");
        int[] e = byteIds("é");
        IncrementalDetokenizer skipping = new IncrementalDetokenizer(tokenizer);
        assertThat(skipping.push(e[0])).isEmpty();
        assertThat(skipping.push(end)).isEmpty();
        assertThat(skipping.push(e[1])).isEqualTo("é");

        IncrementalDetokenizer keeping = new IncrementalDetokenizer(tokenizer, false);
        assertThat(keeping.push(tokenizer.encode("hi")[0])).isEqualTo("hi");
        assertThat(keeping.push(end)).isEqualTo("<|im_end|>");
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tokenizer);
        assertThatThrownBy(() -> d.push(tokenizer.vocabSize())).isInstanceOf(GlimpseException.class);
        assertThatThrownBy(() -> d.push(-1)).isInstanceOf(GlimpseException.class);
    }
}
