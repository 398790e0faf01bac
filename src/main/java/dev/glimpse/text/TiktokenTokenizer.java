package dev.glimpse.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import dev.glimpse.error.GlimpseException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Kimi's tokenizer: tiktoken byte-level BPE over {@link KimiPreTokenizer} pieces, plus 256 special tokens after the base
 * vocabulary (ids V .. V+255). Immutable and thread-safe.
 *
 * <p>{@link #encode} treats its input as ordinary text: a special token's name inside it ("&lt;|im_end|&gt;") is encoded as the
 * plain bytes it spells. That is deliberate: user text must not be able to inject control tokens; templates insert special
 * tokens by id ({@link #specialId}).
 *
 * <p>The BPE is jtokkit 1.1.0's rather than our own: it runs tiktoken's merge loop (a piece that is a token is taken whole,
 * otherwise lowest rank first, leftmost on ties), uses the Pattern we pass as is (our flags, no rewriting), and has an
 * O(n log n) path for pieces of 500+ bytes (long Han runs, long whitespace). {@code TiktokenTokenizerTest} checks both of its
 * paths against a naive merge loop. Measured on the test fixture, its merging costs about as much as the pre-tokenizer
 * regex, so a hand-written BPE could win at most half the encode time. Only {@code encodeOrdinary} is used: jtokkit's
 * decode fills a plain HashMap lazily (not thread-safe), and its special-token handling asserts that names contain
 * "&lt;|", which Kimi's "[BOS]" does not; decoding and specials are done here.
 */
public final class TiktokenTokenizer implements TokenBytes {

    /** Kimi reserves 256 special ids after the base vocabulary. */
    public static final int SPECIAL_TOKEN_COUNT = 256;

    private final Encoding bpe;
    private final byte[][] tokenBytes;      // id -> bytes; specials hold their name's UTF-8
    private final int baseVocabSize;
    private final String[] specialNames;    // id - baseVocabSize -> name
    private final Map<String, Integer> specialIds;

    /**
     * @param baseTokens   token bytes indexed by rank (= id), 0..V-1
     * @param specialNames the names of ids V .. V+255
     */
    TiktokenTokenizer(byte[][] baseTokens, String[] specialNames) {
        if (specialNames.length != SPECIAL_TOKEN_COUNT) {
            throw new IllegalArgumentException("expected " + SPECIAL_TOKEN_COUNT + " special names, got " + specialNames.length);
        }
        this.baseVocabSize = baseTokens.length;
        this.specialNames = specialNames.clone();
        this.tokenBytes = new byte[baseVocabSize + SPECIAL_TOKEN_COUNT][];
        Map<byte[], Integer> ranks = new HashMap<>(baseVocabSize * 2);
        for (int id = 0; id < baseVocabSize; id++) {
            tokenBytes[id] = baseTokens[id].clone();
            ranks.put(tokenBytes[id], id);
        }
        requireUtf8Bytes(baseTokens);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < SPECIAL_TOKEN_COUNT; i++) {
            tokenBytes[baseVocabSize + i] = specialNames[i].getBytes(StandardCharsets.UTF_8);
            ids.put(specialNames[i], baseVocabSize + i);
        }
        this.specialIds = Map.copyOf(ids);
        // A private registry: the default one is process-wide and refuses a second encoding of the same name. No specials
        // are given to jtokkit (see the class comment).
        this.bpe = Encodings.newLazyEncodingRegistry()
                .registerGptBytePairEncoding(new GptBytePairEncodingParams("kimi", KimiPreTokenizer.PATTERN, ranks, Map.of()))
                .getEncoding("kimi")
                .orElseThrow();
    }

    /** Loads tiktoken.model (base vocabulary) and tokenizer_config.json (names of the special ids). */
    public static TiktokenTokenizer load(Path tiktokenModel, Path tokenizerConfigJson) {
        byte[][] base = TiktokenFiles.readRanks(tiktokenModel);
        String[] names = TiktokenFiles.readSpecialNames(tokenizerConfigJson, base.length, SPECIAL_TOKEN_COUNT);
        return new TiktokenTokenizer(base, names);
    }

    /**
     * Every byte that valid UTF-8 can contain must be a token, or some text has no encoding (jtokkit would then emit a
     * bogus id silently). Bytes that never occur in UTF-8 (C0, C1, F5..FF) may be absent.
     */
    private static void requireUtf8Bytes(byte[][] baseTokens) {
        boolean[] present = new boolean[256];
        for (byte[] token : baseTokens) {
            if (token.length == 1) {
                present[token[0] & 0xFF] = true;
            }
        }
        List<String> missing = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            boolean utf8 = b < 0xC0 || (b >= 0xC2 && b <= 0xF4);
            if (utf8 && !present[b]) {
                missing.add(String.format("0x%02X", b));
            }
        }
        if (!missing.isEmpty()) {
            throw GlimpseException.unavailable("tokenizer_files_invalid",
                    "the base vocabulary lacks single-byte tokens " + missing + "; text containing them cannot be encoded");
        }
    }

    /** Encodes ordinary text; special-token names in it are plain text (see the class comment). */
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        return bpe.encodeOrdinary(replaceLoneSurrogates(text)).toArray();
    }

    /**
     * A lone surrogate has no UTF-8 form; String.getBytes would turn it into '?'. tiktoken (Python) replaces it with U+FFFD,
     * and so do we, so the substitution is at least visible.
     */
    static String replaceLoneSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean lone = false;
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    if (out != null) {
                        out.append(c).append(text.charAt(i + 1));
                    }
                    i++;
                    continue;
                }
                lone = true;
            } else if (Character.isLowSurrogate(c)) {
                lone = true;
            }
            if (lone && out == null) {
                out = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (out != null) {
                out.append(lone ? '\uFFFD' : c);
            }
        }
        return out == null ? text : out.toString();
    }

    /** Decodes ids, special tokens included as their names. Invalid UTF-8 becomes U+FFFD. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Decodes ids; with skipSpecials the special tokens contribute nothing. Invalid UTF-8 becomes U+FFFD. */
    public String decode(int[] ids, boolean skipSpecials) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            if (skipSpecials && isSpecial(id)) {
                continue;
            }
            byte[] bytes = bytesOf(id);
            out.write(bytes, 0, bytes.length);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The id of a special token by name; fails naming the known specials when the tokenizer has no such token. */
    public int specialId(String name) {
        Integer id = specialIds.get(name);
        if (id == null) {
            throw GlimpseException.unavailable("tokenizer_special_missing",
                    "the tokenizer has no special token " + name + "; it has " + namedSpecials()
                            + " and reserved tokens <|reserved_token_{id}|>");
        }
        return id;
    }

    public OptionalInt findSpecialId(String name) {
        Integer id = specialIds.get(name);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= baseVocabSize && id < tokenBytes.length;
    }

    /** The bytes of one token (a copy); a special token gives its name's UTF-8. */
    public byte[] tokenBytes(int id) {
        return bytesOf(id).clone();
    }

    /** The name of a special id. */
    public String specialName(int id) {
        if (!isSpecial(id)) {
            throw GlimpseException.invalid("invalid_token_id", null,
                    "token id " + id + " is not special; special ids are [" + baseVocabSize + ", " + tokenBytes.length + ")");
        }
        return specialNames[id - baseVocabSize];
    }

    /** V + 256: the number of rows of the model's embedding table. */
    public int vocabSize() {
        return tokenBytes.length;
    }

    /** V: the number of BPE tokens; special ids start here. */
    public int baseVocabSize() {
        return baseVocabSize;
    }

    /** The internal array, not a copy: for the detokenizer's per-token path. Callers in this package must not write to it. */
    @Override
    public byte[] bytesOf(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw GlimpseException.invalid("invalid_token_id", null,
                    "token id " + id + " is outside the vocabulary [0, " + tokenBytes.length + ")");
        }
        return tokenBytes[id];
    }

    private List<String> namedSpecials() {
        List<String> names = new ArrayList<>();
        for (String name : specialNames) {
            if (!name.startsWith("<|reserved_token_")) {
                names.add(name);
            }
        }
        return names;
    }

    @Override
    public String toString() {
        return "TiktokenTokenizer[base=" + baseVocabSize + ", specials=" + SPECIAL_TOKEN_COUNT + "]";
    }
}
