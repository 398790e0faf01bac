package dev.glimpse.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link TokenBytes} of a byte-level BPE {@code tokenizer.json} (GPT-2 style: every byte is written as one printable
 * character of the {@code bytes_to_unicode} table, so a vocabulary entry spells its bytes). Added tokens marked
 * special, and Chameleon's IMGIMG image tokens, are special: never text for the client.
 */
public final class ByteLevelTokenBytes implements TokenBytes {

    private final byte[][] bytes;
    private final boolean[] special;

    private ByteLevelTokenBytes(byte[][] bytes, boolean[] special) {
        this.bytes = bytes;
        this.special = special;
    }

    public static ByteLevelTokenBytes load(Path tokenizerJson) {
        JsonNode t;
        try {
            t = new ObjectMapper().readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + tokenizerJson, e);
        }
        if (!"ByteLevel".equals(t.path("decoder").path("type").asText())) {
            throw new IllegalArgumentException(tokenizerJson + ": only byte-level decoders are supported, found "
                    + t.path("decoder").path("type").asText("none"));
        }
        Map<Integer, Integer> unicodeToByte = new HashMap<>();
        int[] table = bytesToUnicode();
        for (int b = 0; b < 256; b++) unicodeToByte.put(table[b], b);
        JsonNode vocab = t.path("model").path("vocab");
        int size = 0;
        for (JsonNode id : vocab) size = Math.max(size, id.asInt() + 1);
        for (JsonNode a : t.path("added_tokens")) size = Math.max(size, a.path("id").asInt() + 1);
        byte[][] bytes = new byte[size][];
        boolean[] special = new boolean[size];
        var it = vocab.fields();
        while (it.hasNext()) {
            var e = it.next();
            int id = e.getValue().asInt();
            String token = e.getKey();
            byte[] b = new byte[token.codePointCount(0, token.length())];
            int n = 0;
            boolean byteLevel = true;
            for (int i = 0; i < token.length(); ) {
                int cp = token.codePointAt(i);
                Integer v = unicodeToByte.get(cp);
                if (v == null) {
                    byteLevel = false;
                    break;
                }
                b[n++] = (byte) (int) v;
                i += Character.charCount(cp);
            }
            // Entries outside the byte alphabet (e.g. "<eoss>", "IMGIMG...") keep their name and are not text.
            bytes[id] = byteLevel ? java.util.Arrays.copyOf(b, n) : token.getBytes(StandardCharsets.UTF_8);
            special[id] = !byteLevel || token.startsWith("IMGIMG");
        }
        for (JsonNode a : t.path("added_tokens")) {
            int id = a.path("id").asInt();
            bytes[id] = a.path("content").asText().getBytes(StandardCharsets.UTF_8);
            special[id] = special[id] || a.path("special").asBoolean(false);
        }
        for (int i = 0; i < size; i++) if (bytes[i] == null) bytes[i] = new byte[0];
        return new ByteLevelTokenBytes(bytes, special);
    }

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + n in byte order. */
    static int[] bytesToUnicode() {
        int[] table = new int[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? b : 256 + n++;
        }
        return table;
    }

    @Override
    public byte[] bytesOf(int id) {
        if (id < 0 || id >= bytes.length) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary");
        return bytes[id];
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }
}
