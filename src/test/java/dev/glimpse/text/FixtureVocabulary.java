package dev.glimpse.text;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * Builds the small tokenizer under src/test/resources/text/ by training tiktoken-style BPE on corpus.txt: pieces from the
 * Kimi pre-tokenizer, the most frequent adjacent pair merged each round, the merge's rank its order. The committed files are
 * this class's output ({@code FixtureVocabularyTest} checks that); run {@link #main} to rewrite them after changing it.
 *
 * <p>The vocabulary is shaped like a real one where it matters to the encoder: single bytes are not in byte order, and a
 * few tokens are unreachable by merges (their pairs are not tokens), as a large real vocabulary may have; only a piece that
 * equals such a token whole can produce it.
 */
final class FixtureVocabulary {

    static final int MERGES = 600;
    /** Tokens with no merge path to them: they exercise the whole-piece fast path. */
    static final List<String> UNREACHABLE = List.of("xyzzy", " plugh", "Zork", "777");

    /** Special layout modeled on Kimi-VL's tokenizer_config.json (offsets from V). */
    static final Map<Integer, String> SPECIALS = specials();

    private FixtureVocabulary() {
    }

    private static Map<Integer, String> specials() {
        Map<Integer, String> m = new LinkedHashMap<>();
        m.put(0, "[BOS]");
        m.put(1, "[EOS]");
        m.put(2, "<|im_end|>");
        m.put(3, "<|im_user|>");
        m.put(4, "<|im_assistant|>");
        m.put(6, "<|start_header_id|>");
        m.put(7, "<|end_header_id|>");
        m.put(9, "[EOT]");
        m.put(10, "<|im_system|>");
        m.put(17, "<|im_middle|>");
        m.put(18, "<|media_start|>");
        m.put(19, "<|media_content|>");
        m.put(20, "<|media_end|>");
        m.put(21, "<|media_pad|>");
        m.put(254, "[UNK]");
        m.put(255, "[PAD]");
        return m;
    }

    static String corpus() {
        try (InputStream in = FixtureVocabulary.class.getResourceAsStream("/text/corpus.txt")) {
            // A few CRLF lines so that \r pieces get merges too.
            return new String(in.readAllBytes(), StandardCharsets.UTF_8) + "line one\r\nline two\r\n\r\nend\r\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Token bytes by rank. */
    static List<byte[]> train(String corpus, int merges) {
        List<byte[]> vocab = new ArrayList<>();
        // Single bytes in a permuted order (printable ASCII first, as GPT-style vocabularies do), so nothing can rely on
        // rank == byte value.
        for (int b = 0x21; b <= 0x7E; b++) {
            vocab.add(new byte[]{(byte) b});
        }
        for (int b = 0; b < 256; b++) {
            if (b < 0x21 || b > 0x7E) {
                vocab.add(new byte[]{(byte) b});
            }
        }
        Map<String, Integer> rankOf = new HashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            rankOf.put(key(vocab.get(i)), i);
        }

        // Distinct pieces with counts; each piece is a list of token ids.
        Map<String, Integer> pieceCounts = new LinkedHashMap<>();
        Matcher m = KimiPreTokenizer.PATTERN.matcher(corpus);
        while (m.find()) {
            pieceCounts.merge(key(m.group().getBytes(StandardCharsets.UTF_8)), 1, Integer::sum);
        }
        List<int[]> pieces = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        pieceCounts.forEach((piece, count) -> {
            byte[] bytes = piece.getBytes(StandardCharsets.ISO_8859_1);
            int[] ids = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                ids[i] = rankOf.get(key(new byte[]{bytes[i]}));
            }
            pieces.add(ids);
            counts.add(count);
        });

        for (int round = 0; round < merges; round++) {
            Map<Long, Integer> pairCounts = new HashMap<>();
            for (int p = 0; p < pieces.size(); p++) {
                int[] ids = pieces.get(p);
                for (int i = 0; i + 1 < ids.length; i++) {
                    pairCounts.merge(((long) ids[i] << 32) | ids[i + 1], counts.get(p), Integer::sum);
                }
            }
            long best = -1;
            int bestCount = 0;
            for (Map.Entry<Long, Integer> e : pairCounts.entrySet()) {
                // Ties go to the smaller pair key so that training is deterministic.
                if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < best)) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best < 0) {
                break;
            }
            int left = (int) (best >>> 32);
            int right = (int) best;
            byte[] merged = concat(vocab.get(left), vocab.get(right));
            if (rankOf.containsKey(key(merged))) {
                // Two different splits can spell the same bytes; a vocabulary holds each byte string once.
                int existing = rankOf.get(key(merged));
                replacePair(pieces, left, right, existing);
                continue;
            }
            int id = vocab.size();
            vocab.add(merged);
            rankOf.put(key(merged), id);
            replacePair(pieces, left, right, id);
        }
        for (String word : UNREACHABLE) {
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            if (!rankOf.containsKey(key(bytes))) {
                rankOf.put(key(bytes), vocab.size());
                vocab.add(bytes);
            }
        }
        return vocab;
    }

    private static void replacePair(List<int[]> pieces, int left, int right, int merged) {
        for (int p = 0; p < pieces.size(); p++) {
            int[] ids = pieces.get(p);
            int[] out = new int[ids.length];
            int n = 0;
            for (int i = 0; i < ids.length; i++) {
                if (i + 1 < ids.length && ids[i] == left && ids[i + 1] == right) {
                    out[n++] = merged;
                    i++;
                } else {
                    out[n++] = ids[i];
                }
            }
            pieces.set(p, Arrays.copyOf(out, n));
        }
    }

    static String tiktokenModel(List<byte[]> vocab) {
        StringBuilder sb = new StringBuilder();
        Base64.Encoder base64 = Base64.getEncoder();
        for (int rank = 0; rank < vocab.size(); rank++) {
            sb.append(base64.encodeToString(vocab.get(rank))).append(' ').append(rank).append('\n');
        }
        return sb.toString();
    }

    static String tokenizerConfig(int baseVocabSize) {
        StringBuilder sb = new StringBuilder("{\n  \"added_tokens_decoder\": {\n");
        int i = 0;
        for (Map.Entry<Integer, String> e : SPECIALS.entrySet()) {
            sb.append("    \"").append(baseVocabSize + e.getKey()).append("\": {\"content\": \"").append(e.getValue())
                    .append("\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, "
                            + "\"special\": true}")
                    .append(++i < SPECIALS.size() ? ",\n" : "\n");
        }
        return sb.append("  },\n  \"tokenizer_class\": \"TikTokenTokenizer\"\n}\n").toString();
    }

    static String key(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Rewrites the committed fixture files. Run from the repository root. */
    public static void main(String[] args) throws IOException {
        List<byte[]> vocab = train(corpus(), MERGES);
        Path dir = Path.of("src/test/resources/text");
        Files.writeString(dir.resolve("tiktoken.model"), tiktokenModel(vocab));
        Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig(vocab.size()));
        System.out.println("wrote " + vocab.size() + " base tokens to " + dir.toAbsolutePath());
    }
}
