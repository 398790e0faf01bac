package dev.glimpse.ocr;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Greedy CTC decoding over a recogniser's per-step class probabilities, as PaddleOCR's CTCLabelDecode does: class 0 is the
 * blank, classes 1..n are the dictionary's lines in order, class n+1 is a space (PaddleOCR's use_space_char). Per time
 * step take the arg-max; drop a step equal to the previous step's class (repeats merge) and every blank; the line's
 * confidence is the mean of the kept steps' maximum probabilities (0 when nothing is kept).
 *
 * <p>Word spaces: PP-OCRv4's recogniser was trained mostly on Chinese, where spaces are rare, and on Latin text it often
 * lets the blank win at a word gap while the space class still gets real probability there (0.07 to 0.5, against under
 * 0.01 inside words). With a {@code spaceThreshold} the decoder puts a space between two kept characters when the space
 * probabilities of the steps between them add up to at least the threshold and no space was decoded there; never next
 * to a Han, Hiragana, Katakana or Hangul character, where text has no word spaces.
 */
public final class CtcDecoder {

    /** A decoded line: its text and confidence in [0, 1]. */
    public record Decoded(String text, float confidence) {}

    /** Space mass between two characters above which a word space is restored; see the class comment. */
    public static final double DEFAULT_SPACE_THRESHOLD = 0.05;

    private final String[] classes;
    private final double spaceThreshold;

    /** A decoder without space restoration (plain greedy CTC). */
    public CtcDecoder(List<String> dictionary) {
        this(dictionary, Double.POSITIVE_INFINITY);
    }

    /**
     * @param dictionary     the characters of classes 1..n (the blank and the trailing space are added here)
     * @param spaceThreshold restore a word space where the space class has at least this much probability mass between
     *                       two characters; {@code Double.POSITIVE_INFINITY} turns this off
     */
    public CtcDecoder(List<String> dictionary, double spaceThreshold) {
        if (!(spaceThreshold > 0)) throw new IllegalArgumentException("spaceThreshold must be > 0, got " + spaceThreshold);
        this.spaceThreshold = spaceThreshold;
        classes = new String[dictionary.size() + 2];
        classes[0] = "";
        for (int i = 0; i < dictionary.size(); i++) classes[i + 1] = dictionary.get(i);
        classes[classes.length - 1] = " ";
    }

    /** Reads a PaddleOCR dictionary: one character per line, UTF-8, line ends stripped (a final newline is optional). */
    public static CtcDecoder fromDictionary(Path file, double spaceThreshold) {
        String s;
        try {
            s = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read OCR dictionary " + file, e);
        }
        List<String> chars = new ArrayList<>();
        for (String line : s.split("\n", -1)) {
            if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
            chars.add(line);
        }
        if (!chars.isEmpty() && chars.get(chars.size() - 1).isEmpty()) chars.remove(chars.size() - 1);
        return new CtcDecoder(chars, spaceThreshold);
    }

    /** Number of classes the recogniser must output: blank + dictionary + space. */
    public int numClasses() {
        return classes.length;
    }

    /**
     * Decodes one sequence.
     *
     * @param probs  (steps, numClasses) row-major probabilities, starting at {@code offset}
     * @param steps  time steps
     */
    public Decoded decode(float[] probs, int offset, int steps) {
        int c = classes.length;
        int space = c - 1;
        StringBuilder text = new StringBuilder();
        double sum = 0;
        int kept = 0;
        int prev = -1;
        double spaceMass = 0; // space probability since the last kept character
        for (int t = 0; t < steps; t++) {
            int base = offset + t * c;
            int best = 0;
            float bestP = probs[base];
            for (int k = 1; k < c; k++) {
                float p = probs[base + k];
                if (p > bestP) {
                    bestP = p;
                    best = k;
                }
            }
            if (best != 0 && best != prev) {
                if (best != space && spaceMass >= spaceThreshold && text.length() > 0
                        && text.charAt(text.length() - 1) != ' '
                        && spaced(text.codePointBefore(text.length())) && spaced(classes[best].codePointAt(0))) {
                    text.append(' ');
                }
                text.append(classes[best]);
                sum += bestP;
                kept++;
                spaceMass = 0;
            } else if (best == 0) {
                spaceMass += probs[base + space];
            }
            prev = best;
        }
        return new Decoded(text.toString(), kept == 0 ? 0f : (float) (sum / kept));
    }

    /** Scripts written with spaces between words (everything but Han, Hiragana, Katakana, Hangul). */
    static boolean spaced(int codePoint) {
        Character.UnicodeScript s = Character.UnicodeScript.of(codePoint);
        return s != Character.UnicodeScript.HAN && s != Character.UnicodeScript.HIRAGANA
                && s != Character.UnicodeScript.KATAKANA && s != Character.UnicodeScript.HANGUL;
    }
}
