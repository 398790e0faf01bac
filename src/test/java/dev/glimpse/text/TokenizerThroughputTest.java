package dev.glimpse.text;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Prints encode throughput; asserts nothing about time (shared CI machines). The fixture vocabulary is small (860 tokens), so
 * pieces need more merges than with Kimi's 163k tokens, where most words are one token: read these as a lower bound.
 */
class TokenizerThroughputTest {

    @Test
    void printsThroughput() {
        TiktokenTokenizer tokenizer = TextSamples.fixtureTokenizer();
        String corpus = FixtureVocabulary.corpus();
        String[] lines = corpus.split("\n");
        Random rnd = new Random(6);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 3_000_000) {
            sb.append(lines[rnd.nextInt(lines.length)]).append('\n');
        }
        String mixed = sb.toString();
        measure("mixed corpus lines", mixed, t -> tokenizer.encode(t).length, 3);
        measure("pre-tokenizer only", mixed, KimiPreTokenizerOnly::count, 3);

        // Long single pieces: no blow-up in the regex or in the merge loop (jtokkit's large-piece path).
        measure("250k spaces", " ".repeat(250_000) + "x", t -> tokenizer.encode(t).length, 1);
        measure("one 80k-char Han run", "中文文本没有空格所以汉字会连在一起".repeat(5_000), t -> tokenizer.encode(t).length, 1);
        measure("one 250k-char word", "abcdefghij".repeat(25_000), t -> tokenizer.encode(t).length, 1);
        assertThat(tokenizer.encode("ok")).isNotEmpty();
    }

    private static void measure(String label, String text, ToIntFunction<String> work, int reps) {
        double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        work.applyAsInt(text); // warm-up
        long start = System.nanoTime();
        long sink = 0;
        for (int i = 0; i < reps; i++) {
            sink += work.applyAsInt(text);
        }
        double seconds = (System.nanoTime() - start) / 1e9 / reps;
        System.out.printf("throughput %-24s %6.2f MB in %7.3f s = %6.1f MB/s (%d ids)%n",
                label, mb, seconds, mb / seconds, sink / reps);
    }

    private static final class KimiPreTokenizerOnly {
        static int count(String text) {
            int n = 0;
            for (Matcher m = KimiPreTokenizer.PATTERN.matcher(text); m.find(); ) {
                n++;
            }
            return n;
        }
    }
}
