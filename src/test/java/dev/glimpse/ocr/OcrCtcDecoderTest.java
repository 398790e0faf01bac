package dev.glimpse.ocr;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Greedy CTC decoding: class 0 blank, 1..n the dictionary, n+1 the space. */
class OcrCtcDecoderTest {

    // classes: 0 blank, 1 'a', 2 'b', 3 '中', 4 '文', 5 ' '
    static final List<String> DICT = List.of("a", "b", "中", "文");
    static final int C = 6;

    /** One row per step: the arg-max class gets {@code p}, the rest share 1 - p, plus {@code space} on the space class. */
    static float[] steps(int[] best, float[] p, float[] space) {
        float[] out = new float[best.length * C];
        for (int t = 0; t < best.length; t++) {
            float rest = (1 - p[t] - space[t]) / (C - 2);
            for (int k = 0; k < C; k++) out[t * C + k] = rest;
            out[t * C + 5] = space[t];
            out[t * C + best[t]] = p[t];
        }
        return out;
    }

    static float[] fill(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void repeatsMergeAndBlanksDrop() {
        CtcDecoder d = new CtcDecoder(DICT);
        assertEquals(6, d.numClasses());
        int[] best = {0, 1, 1, 0, 2, 2, 2, 0};
        float[] p = {0.9f, 0.8f, 0.6f, 0.9f, 0.5f, 0.7f, 0.9f, 0.9f};
        CtcDecoder.Decoded r = d.decode(steps(best, p, fill(8, 0)), 0, best.length);
        assertEquals("ab", r.text());
        // confidence = mean of the first step of each kept run: (0.8 + 0.5) / 2
        assertEquals(0.65f, r.confidence(), 1e-6);
    }

    @Test
    void aBlankBetweenTwoEqualClassesKeepsBoth() {
        CtcDecoder d = new CtcDecoder(DICT);
        int[] best = {1, 0, 1, 1};
        CtcDecoder.Decoded r = d.decode(steps(best, fill(4, 0.9f), fill(4, 0)), 0, 4);
        assertEquals("aa", r.text());
    }

    @Test
    void onlyBlanksDecodeToNothingWithZeroConfidence() {
        CtcDecoder d = new CtcDecoder(DICT);
        CtcDecoder.Decoded r = d.decode(steps(new int[]{0, 0, 0}, fill(3, 0.99f), fill(3, 0)), 0, 3);
        assertEquals("", r.text());
        assertEquals(0f, r.confidence());
    }

    @Test
    void decodesAtAnOffsetInABatch() {
        CtcDecoder d = new CtcDecoder(DICT);
        float[] first = steps(new int[]{1, 0}, fill(2, 0.9f), fill(2, 0));
        float[] second = steps(new int[]{2, 5}, fill(2, 0.9f), fill(2, 0));
        float[] both = new float[first.length + second.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        assertEquals("a", d.decode(both, 0, 2).text());
        assertEquals("b ", d.decode(both, 2 * C, 2).text());
    }

    @Test
    void restoresAWordSpaceFromTheSpaceMassBetweenCharacters() {
        CtcDecoder d = new CtcDecoder(DICT, 0.05);
        int[] best = {1, 0, 0, 0, 2};
        // the blank wins every gap step, but the space class gets 0.03 + 0.04 = 0.07 >= 0.05 there
        float[] space = {0, 0.03f, 0.04f, 0, 0};
        float[] p = {0.9f, 0.9f, 0.9f, 0.9f, 0.9f};
        assertEquals("a b", d.decode(steps(best, p, space), 0, 5).text());
        // below the threshold: no space
        float[] little = {0, 0.01f, 0.02f, 0.01f, 0};
        assertEquals("ab", d.decode(steps(best, p, little), 0, 5).text());
        // without restoration (plain greedy CTC) never
        assertEquals("ab", new CtcDecoder(DICT).decode(steps(best, p, space), 0, 5).text());
    }

    @Test
    void noRestoredSpaceNextToHanCharactersOrADecodedSpace() {
        CtcDecoder d = new CtcDecoder(DICT, 0.05);
        int[] han = {3, 0, 0, 4};
        float[] space = {0, 0.3f, 0.3f, 0};
        assertEquals("中文", d.decode(steps(han, fill(4, 0.6f), space), 0, 4).text());
        int[] decodedSpace = {1, 5, 0, 2};
        assertEquals("a b", d.decode(steps(decodedSpace, fill(4, 0.6f), new float[]{0, 0, 0.3f, 0}), 0, 4).text());
    }

    @Test
    void readsADictionaryWithOrWithoutAFinalNewline(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.txt");
        Path b = dir.resolve("b.txt");
        Files.writeString(a, "x\ny\nz", StandardCharsets.UTF_8);
        Files.writeString(b, "x\r\ny\r\nz\r\n", StandardCharsets.UTF_8);
        assertEquals(5, CtcDecoder.fromDictionary(a, 0.05).numClasses());
        assertEquals(5, CtcDecoder.fromDictionary(b, 0.05).numClasses());
        float[] probs = new float[5];
        probs[3] = 1; // class 3 = 'z'
        assertEquals("z", CtcDecoder.fromDictionary(b, 0.05).decode(probs, 0, 1).text());
    }

    @Test
    void theRealDictionaryMatchesTheRecogniser() {
        CtcDecoder d = CtcDecoder.fromDictionary(OcrModels.files().dict(), 0.05);
        assertEquals(6625, d.numClasses()); // blank + 6623 characters + space
    }
}
