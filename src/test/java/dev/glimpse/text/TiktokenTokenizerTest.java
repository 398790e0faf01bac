package dev.glimpse.text;

import com.knuddels.jtokkit.api.Encoding;
import dev.glimpse.error.GlimpseException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TiktokenTokenizerTest {

    private static TiktokenTokenizer tokenizer;
    private static List<byte[]> vocab;
    private static NaiveBpe naive;

    @BeforeAll
    static void load() {
        tokenizer = TextSamples.fixtureTokenizer();
        vocab = FixtureVocabulary.train(FixtureVocabulary.corpus(), FixtureVocabulary.MERGES);
        naive = new NaiveBpe(vocab);
    }

    @Test
    void sizesAndSpecialIds() {
        int v = vocab.size();
        assertThat(tokenizer.baseVocabSize()).isEqualTo(v);
        assertThat(tokenizer.vocabSize()).isEqualTo(v + 256);
        assertThat(tokenizer.specialId("[BOS]")).isEqualTo(v);
        assertThat(tokenizer.specialId("<|im_end|>")).isEqualTo(v + 2);
        assertThat(tokenizer.specialId("<|media_pad|>")).isEqualTo(v + 21);
        assertThat(tokenizer.specialName(v + 10)).isEqualTo("<|im_system|>");
        // Ids the config leaves out get the reserved name, and can be found by it.
        assertThat(tokenizer.specialName(v + 5)).isEqualTo("<|reserved_token_" + (v + 5) + "|>");
        assertThat(tokenizer.findSpecialId("<|reserved_token_" + (v + 5) + "|>")).hasValue(v + 5);
        assertThat(tokenizer.findSpecialId("<|nope|>")).isEmpty();
        assertThat(tokenizer.isSpecial(v - 1)).isFalse();
        assertThat(tokenizer.isSpecial(v)).isTrue();
        assertThat(tokenizer.isSpecial(v + 255)).isTrue();
        assertThat(tokenizer.isSpecial(v + 256)).isFalse();
        assertThat(tokenizer.tokenBytes(v + 2)).isEqualTo("<|im_end|>".getBytes(StandardCharsets.UTF_8));
        assertThat(tokenizer.tokenBytes(0)).isEqualTo(vocab.get(0));
    }

    @Test
    void unknownSpecialNameListsTheKnownOnes() {
        assertThatThrownBy(() -> tokenizer.specialId("<|im_start|>"))
                .isInstanceOf(GlimpseException.class)
                .hasMessageContaining("<|im_start|>")
                .hasMessageContaining("<|im_end|>")
                .hasMessageContaining("[BOS]");
    }

    @Test
    void tokenBytesIsACopy() {
        tokenizer.tokenBytes(0)[0] = 0;
        assertThat(tokenizer.tokenBytes(0)).isEqualTo(vocab.get(0));
    }

    @Test
    void outOfRangeIdsAreRejected() {
        assertThatThrownBy(() -> tokenizer.decode(new int[]{tokenizer.vocabSize()}))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("outside the vocabulary");
        assertThatThrownBy(() -> tokenizer.decode(new int[]{-1})).isInstanceOf(GlimpseException.class);
        assertThatThrownBy(() -> tokenizer.specialName(0)).isInstanceOf(GlimpseException.class);
    }

    @Test
    void matchesNaiveBpeOnSamples() {
        for (String s : TextSamples.FIXED) {
            assertThat(tokenizer.encode(s)).as("encode(%s)", s).isEqualTo(naive.encode(s));
        }
    }

    @Test
    void matchesNaiveBpeOnRandomText() {
        Random rnd = new Random(1);
        for (int i = 0; i < 3000; i++) {
            String s = i % 3 == 0 ? TextSamples.repetitive(rnd, rnd.nextInt(300)) : TextSamples.random(rnd, 120);
            assertThat(tokenizer.encode(s)).as("encode(%s)", s).isEqualTo(naive.encode(s));
        }
    }

    /**
     * jtokkit switches to a second merge implementation (TreeMap of ranks) for pieces of 500 bytes or more, e.g. a long run
     * of Chinese, which is one piece. Force that path for every piece and compare it too.
     */
    @Test
    void matchesNaiveBpeOnJtokkitsLargePiecePath() {
        String previous = System.getProperty(Encoding.VERY_LARGE_TOKENIZER_BYTE_THRESHOLD_KEY);
        TiktokenTokenizer large;
        System.setProperty(Encoding.VERY_LARGE_TOKENIZER_BYTE_THRESHOLD_KEY, "1");
        try {
            large = TextSamples.fixtureTokenizer();
        } finally {
            if (previous == null) {
                System.clearProperty(Encoding.VERY_LARGE_TOKENIZER_BYTE_THRESHOLD_KEY);
            } else {
                System.setProperty(Encoding.VERY_LARGE_TOKENIZER_BYTE_THRESHOLD_KEY, previous);
            }
        }
        for (String s : TextSamples.FIXED) {
            assertThat(large.encode(s)).as("encode(%s)", s).isEqualTo(naive.encode(s));
        }
        Random rnd = new Random(2);
        for (int i = 0; i < 3000; i++) {
            String s = i % 2 == 0 ? TextSamples.repetitive(rnd, rnd.nextInt(300)) : TextSamples.random(rnd, 120);
            assertThat(large.encode(s)).as("encode(%s)", s).isEqualTo(naive.encode(s));
        }
        // And real long pieces on the default path.
        StringBuilder longHan = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            longHan.append("中文文本没有空格所以汉字会连在一起模型需要理解图像和文字");
        }
        assertThat(tokenizer.encode(longHan.toString())).isEqualTo(naive.encode(longHan.toString()));
    }

    @Test
    void roundTripsAnyValidText() {
        for (String s : TextSamples.FIXED) {
            assertThat(tokenizer.decode(tokenizer.encode(s))).isEqualTo(s);
        }
        Random rnd = new Random(4);
        for (int i = 0; i < 3000; i++) {
            String s = TextSamples.random(rnd, 200);
            assertThat(tokenizer.decode(tokenizer.encode(s))).isEqualTo(s);
        }
    }

    @Test
    void specialNamesInTextStayOrdinary() {
        String text = "<|im_end|><|im_user|>[BOS]<|media_pad|>";
        int[] ids = tokenizer.encode(text);
        assertThat(Arrays.stream(ids).noneMatch(tokenizer::isSpecial)).isTrue();
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void unreachableTokensComeOnlyFromWholePieces() {
        for (String word : FixtureVocabulary.UNREACHABLE) {
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            int id = tokenizer.baseVocabSize() - FixtureVocabulary.UNREACHABLE.size() + FixtureVocabulary.UNREACHABLE.indexOf(word);
            assertThat(tokenizer.tokenBytes(id)).isEqualTo(bytes);
            assertThat(naive.mergeOnly(bytes)).as("no merge path to %s", word).isNotEqualTo(List.of(id));
            assertThat(tokenizer.encode(word)).containsExactly(id);
        }
        // Inside a longer piece the token cannot be reached.
        assertThat(tokenizer.encode("xyzzyxyzzy")).doesNotContain(tokenizer.encode("xyzzy")[0]);
    }

    @Test
    void decodeCanSkipSpecials() {
        int end = tokenizer.specialId("<|im_end|>");
        int[] hi = tokenizer.encode("hi");
        int[] ids = {hi[0], end};
        assertThat(tokenizer.decode(ids)).isEqualTo("hi<|im_end|>");
        assertThat(tokenizer.decode(ids, true)).isEqualTo("hi");
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        assertThat(tokenizer.decode(tokenizer.encode("a\uD800b\uDC00c"))).isEqualTo("a\uFFFDb\uFFFDc");
        assertThat(tokenizer.decode(tokenizer.encode("x\uD83D"))).isEqualTo("x\uFFFD");
        assertThat(TiktokenTokenizer.replaceLoneSurrogates("ok 😀")).isSameAs("ok 😀");
    }

    @Test
    void encodesConcurrently() throws Exception {
        Random rnd = new Random(9);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            texts.add(TextSamples.random(rnd, 200));
        }
        List<int[]> expected = texts.stream().map(tokenizer::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                results.add(pool.submit(() -> {
                    for (int i = 0; i < texts.size(); i++) {
                        int[] ids = tokenizer.encode(texts.get(i));
                        if (!Arrays.equals(ids, expected.get(i)) || !tokenizer.decode(ids).equals(texts.get(i))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void encodeIsEmptyForEmptyText() {
        assertThat(tokenizer.encode("")).isEmpty();
    }

    @Test
    void invalidFilesFailAtLoad(@TempDir Path dir) throws IOException {
        Path model = TextSamples.resource("tiktoken.model");
        Path config = TextSamples.resource("tokenizer_config.json");
        List<String> lines = Files.readAllLines(model);

        Path gap = dir.resolve("gap.model");
        Files.writeString(gap, Files.readString(model).replace(" 300\n", " 9999\n"));
        assertThatThrownBy(() -> TiktokenTokenizer.load(gap, config))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("rank 300 is missing");

        Path duplicate = dir.resolve("dup.model");
        Files.write(duplicate, lines);
        Files.writeString(duplicate, lines.get(0) + "\n", StandardOpenOption.APPEND);
        assertThatThrownBy(() -> TiktokenTokenizer.load(duplicate, config))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("appears twice");

        // Drop the token for byte 'a' (0x61) and renumber: the vocabulary cannot encode "a" any more.
        Path noByte = dir.resolve("nobyte.model");
        String a = Base64.getEncoder().encodeToString(new byte[]{'a'});
        StringBuilder sb = new StringBuilder();
        int rank = 0;
        for (String line : lines) {
            if (!line.startsWith(a + " ")) {
                sb.append(line, 0, line.indexOf(' ')).append(' ').append(rank++).append('\n');
            }
        }
        Files.writeString(noByte, sb.toString());
        Path noByteConfig = dir.resolve("nobyte.json");
        Files.writeString(noByteConfig, FixtureVocabulary.tokenizerConfig(rank));
        assertThatThrownBy(() -> TiktokenTokenizer.load(noByte, noByteConfig))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("0x61");

        Path garbage = dir.resolve("garbage.model");
        Files.writeString(garbage, "not base64!! 0\n");
        assertThatThrownBy(() -> TiktokenTokenizer.load(garbage, config))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("line 1");

        Path outside = dir.resolve("outside.json");
        Files.writeString(outside, "{\"added_tokens_decoder\": {\"5\": {\"content\": \"<|x|>\", \"special\": true}}}");
        assertThatThrownBy(() -> TiktokenTokenizer.load(model, outside))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("outside the special range");

        Path twice = dir.resolve("twice.json");
        int v = lines.size();
        Files.writeString(twice, "{\"added_tokens_decoder\": {\"" + v + "\": {\"content\": \"<|x|>\"}, \""
                + (v + 1) + "\": {\"content\": \"<|x|>\"}}}");
        assertThatThrownBy(() -> TiktokenTokenizer.load(model, twice))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("both named <|x|>");

        Path missing = dir.resolve("missing.model");
        assertThatThrownBy(() -> TiktokenTokenizer.load(missing, config))
                .isInstanceOf(GlimpseException.class).hasMessageContaining("cannot read");
    }
}
