package dev.glimpse.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's binding of the Rust tokenizers library (the Chameleon family's
 * tokenizer). Loaded from a local file only: DJL_OFFLINE=true (or OPT_OUT_TRACKING=true) keeps DJL off the network.
 * Thread-safe for encode/decode; owns a native handle, so close it.
 */
public final class HfTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    /** The file's added tokens (specials) by first character, longest first: what {@link #encodeOrdinary} must not form. */
    private final Map<Character, List<String>> addedByFirstChar;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Map<Character, List<String>> addedByFirstChar) {
        this.tokenizer = tokenizer;
        this.addedByFirstChar = addedByFirstChar;
    }

    /**
     * @param addSpecialTokens apply the file's post-processor (e.g. a leading {@code <s>}), as Hugging Face's
     *                         {@code tokenizer(text)} does by default
     */
    public static HfTokenizer load(Path tokenizerJson, boolean addSpecialTokens) {
        try {
            Map<Character, List<String>> added = new HashMap<>();
            for (JsonNode t : new ObjectMapper().readTree(tokenizerJson.toFile()).path("added_tokens")) {
                String content = t.path("content").asText("");
                if (!content.isEmpty()) added.computeIfAbsent(content.charAt(0), c -> new ArrayList<>()).add(content);
            }
            added.values().forEach(l -> l.sort(Comparator.comparingInt(String::length).reversed()));
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", Boolean.toString(addSpecialTokens), "truncation", "false", "padding", "false")),
                    added);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load " + tokenizerJson, e);
        }
    }

    /** The library's encoding: the names of added tokens in {@code text} become those tokens (as Hugging Face does). */
    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text);
        return e.getIds();
    }

    /**
     * Encodes client text as plain text: a substring that spells an added token ({@code <s>}, {@code <racm3:break>}, a
     * reserved token) stays text. The Rust library always matches added-token names in its input, so the text is cut
     * after the first character of every such name and the pieces are encoded separately; only the tokenization right
     * at those cuts differs from an uncut encoding (pieces are encoded as they are: this assumes, as Chameleon's byte-level
     * pre-tokenizer does, that no prefix space is added to each).
     */
    public long[] encodeOrdinary(String text) {
        List<long[]> pieces = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            List<String> candidates = addedByFirstChar.get(text.charAt(i));
            if (candidates == null) continue;
            for (String name : candidates) {
                if (text.startsWith(name, i)) {
                    if (i + 1 > start) pieces.add(encode(text.substring(start, i + 1)));
                    start = i + 1;
                    break;
                }
            }
        }
        if (start < text.length()) pieces.add(encode(text.substring(start)));
        int n = 0;
        for (long[] p : pieces) n += p.length;
        long[] out = new long[n];
        int o = 0;
        for (long[] p : pieces) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
