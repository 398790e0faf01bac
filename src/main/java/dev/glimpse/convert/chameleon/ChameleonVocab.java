package dev.glimpse.convert.chameleon;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where VQ codes live in a Chameleon vocabulary. Image tokens are entries named "IMGIMG" + digits-as-letters + "Z"
 * (A..J = 0..9, e.g. IMGIMGBCZ = code 12); nothing promises that ids follow code order, so both directions are read from
 * the names. Built from config.json's vocabulary_map (the tokenizer's whole vocabulary).
 */
public final class ChameleonVocab {

    private final long[] codeToId;
    private final int[] idToCode;   // -1: not an image token
    private final Map<String, Long> special = new TreeMap<>();

    private ChameleonVocab(long[] codeToId, int[] idToCode) {
        this.codeToId = codeToId;
        this.idToCode = idToCode;
    }

    /** The code an IMGIMG token name stands for, or -1 if the name is not an image token. */
    public static int codeOf(String name) {
        if (!name.startsWith("IMGIMG") || !name.endsWith("Z") || name.length() < 8) return -1;
        int code = 0;
        for (int i = 6; i < name.length() - 1; i++) {
            char ch = name.charAt(i);
            if (ch < 'A' || ch > 'J') return -1;
            code = code * 10 + (ch - 'A');
        }
        return code;
    }

    /**
     * @param vocabularyMap token -> id (config.json "vocabulary_map")
     * @param numCodes      codebook size (vq_config.num_embeddings); every code must have exactly one token
     */
    public static ChameleonVocab fromVocabularyMap(JsonNode vocabularyMap, int vocabSize, int numCodes) {
        long[] codeToId = new long[numCodes];
        Arrays.fill(codeToId, -1);
        int[] idToCode = new int[vocabSize];
        Arrays.fill(idToCode, -1);
        ChameleonVocab v = new ChameleonVocab(codeToId, idToCode);
        var it = vocabularyMap.fields();
        while (it.hasNext()) {
            var e = it.next();
            long id = e.getValue().asLong();
            if (id < 0 || id >= vocabSize) throw new IllegalArgumentException("vocabulary_map: id " + id + " of '" + e.getKey()
                    + "' is outside the vocabulary (" + vocabSize + ")");
            int code = codeOf(e.getKey());
            if (code >= 0) {
                if (code >= numCodes) throw new IllegalArgumentException("vocabulary_map: " + e.getKey() + " is code " + code
                        + " but the codebook has " + numCodes + " entries");
                if (codeToId[code] >= 0) throw new IllegalArgumentException("vocabulary_map: two tokens for code " + code);
                codeToId[code] = id;
                idToCode[(int) id] = code;
            } else if (e.getKey().startsWith("<")) {
                v.special.put(e.getKey(), id);
            }
        }
        for (int c = 0; c < numCodes; c++) {
            if (codeToId[c] < 0) throw new IllegalArgumentException("vocabulary_map has no IMGIMG token for code " + c);
        }
        return v;
    }

    public long idOfCode(int code) {
        return codeToId[code];
    }

    /** The code of a vocabulary id, or -1 when the id is not an image token. */
    public int codeOfId(long id) {
        return id < 0 || id >= idToCode.length ? -1 : idToCode[(int) id];
    }

    public boolean isImageToken(long id) {
        return codeOfId(id) >= 0;
    }

    /** Ids of all image tokens, ascending: the logits masked to -inf when generating text. */
    public long[] imageTokenIds() {
        return Arrays.stream(codeToId).sorted().toArray();
    }

    /** Id of a special token such as {@code <racm3:break>}, {@code <eoss>}, {@code <image>} or {@code <reserved08706>}. */
    public long special(String name) {
        Long id = special.get(name);
        if (id == null) throw new IllegalArgumentException("the vocabulary has no " + name);
        return id;
    }
}
