package dev.glimpse.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * The reference the real encoder is checked against: tiktoken's algorithm written as plainly as possible. Split with the
 * pre-tokenizer; a piece that is a token is that token; otherwise start from single bytes and merge the adjacent pair whose
 * concatenation has the lowest rank (leftmost on ties) until no adjacent pair is a token. Quadratic per piece; tests only.
 */
final class NaiveBpe {

    private final Map<String, Integer> ranks = new HashMap<>();

    NaiveBpe(List<byte[]> vocab) {
        for (int rank = 0; rank < vocab.size(); rank++) {
            ranks.put(FixtureVocabulary.key(vocab.get(rank)), rank);
        }
    }

    int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        Matcher m = KimiPreTokenizer.PATTERN.matcher(text);
        while (m.find()) {
            encodePiece(m.group().getBytes(StandardCharsets.UTF_8), out);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Merges without the whole-piece shortcut: what a piece becomes when its own token is unreachable. */
    List<Integer> mergeOnly(byte[] piece) {
        List<String> parts = new ArrayList<>();
        for (byte b : piece) {
            parts.add(FixtureVocabulary.key(new byte[]{b}));
        }
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer rank = ranks.get(parts.get(i) + parts.get(i + 1));
                if (rank != null && rank < bestRank) {
                    best = i;
                    bestRank = rank;
                }
            }
            if (best < 0) {
                break;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
        List<Integer> ids = new ArrayList<>();
        for (String part : parts) {
            ids.add(ranks.get(part));
        }
        return ids;
    }

    private void encodePiece(byte[] piece, List<Integer> out) {
        Integer whole = ranks.get(FixtureVocabulary.key(piece));
        if (whole != null) {
            out.add(whole);
        } else {
            out.addAll(mergeOnly(piece));
        }
    }
}
