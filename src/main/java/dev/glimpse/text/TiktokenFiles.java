package dev.glimpse.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.error.GlimpseException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads the two files of a tiktoken tokenizer. Broken files fail here, at load, with the line or id at fault: a vocabulary
 * with a gap would otherwise surface much later as a wrong token or a missing id in the middle of a request.
 */
final class TiktokenFiles {

    private TiktokenFiles() {
    }

    /**
     * tiktoken.model: one {@code base64(bytes) rank} per line. Returns the token bytes indexed by rank; the ranks must be
     * exactly 0..V-1 (they are the ids), each byte string must appear once.
     */
    static byte[][] readRanks(Path file) {
        List<byte[]> byRank = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        Base64.Decoder base64 = Base64.getDecoder();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                int space = line.indexOf(' ');
                if (space <= 0) {
                    throw broken(file, "line " + lineNo + " is not 'base64 rank'");
                }
                byte[] bytes;
                int rank;
                try {
                    bytes = base64.decode(line.substring(0, space));
                    rank = Integer.parseInt(line.substring(space + 1).trim());
                } catch (IllegalArgumentException e) {
                    throw broken(file, "line " + lineNo + " is not 'base64 rank': " + e.getMessage());
                }
                if (bytes.length == 0) {
                    throw broken(file, "line " + lineNo + " has an empty token");
                }
                if (rank < 0 || rank > 50_000_000) {
                    throw broken(file, "line " + lineNo + " has rank " + rank);
                }
                while (byRank.size() <= rank) {
                    byRank.add(null);
                }
                if (byRank.get(rank) != null) {
                    throw broken(file, "rank " + rank + " appears twice (line " + lineNo + ")");
                }
                Integer other = seen.putIfAbsent(new String(bytes, StandardCharsets.ISO_8859_1), rank);
                if (other != null) {
                    throw broken(file, "ranks " + other + " and " + rank + " have the same bytes");
                }
                byRank.set(rank, bytes);
            }
        } catch (IOException e) {
            throw GlimpseException.unavailable("tokenizer_files_invalid", "cannot read " + file + ": " + e.getMessage());
        }
        for (int rank = 0; rank < byRank.size(); rank++) {
            if (byRank.get(rank) == null) {
                throw broken(file, "rank " + rank + " is missing; ranks must be 0.." + (byRank.size() - 1));
            }
        }
        if (byRank.isEmpty()) {
            throw broken(file, "no tokens");
        }
        return byRank.toArray(new byte[0][]);
    }

    /**
     * tokenizer_config.json "added_tokens_decoder": id (as a string) -> {"content": name, ...}. Returns the names of the
     * special ids baseVocabSize .. baseVocabSize+count-1; an id the config leaves out is {@code <|reserved_token_{id}|>}.
     */
    static String[] readSpecialNames(Path file, int baseVocabSize, int count) {
        JsonNode decoder;
        try {
            decoder = new ObjectMapper().readTree(file.toFile()).path("added_tokens_decoder");
        } catch (IOException e) {
            throw GlimpseException.unavailable("tokenizer_files_invalid", "cannot read " + file + ": " + e.getMessage());
        }
        if (!decoder.isObject()) {
            throw broken(file, "no \"added_tokens_decoder\" object");
        }
        String[] names = new String[count];
        Map<String, Integer> ids = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = decoder.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            int id;
            try {
                id = Integer.parseInt(entry.getKey());
            } catch (NumberFormatException e) {
                throw broken(file, "added token id \"" + entry.getKey() + "\" is not a number");
            }
            // Added tokens must sit in the special range: one below it would shadow a BPE token, one above it is outside
            // the model's embedding table (V + 256 rows).
            if (id < baseVocabSize || id >= baseVocabSize + count) {
                throw broken(file, "added token id " + id + " is outside the special range [" + baseVocabSize + ", "
                        + (baseVocabSize + count) + ")");
            }
            String content = entry.getValue().path("content").asText("");
            if (content.isEmpty()) {
                throw broken(file, "added token " + id + " has no \"content\"");
            }
            Integer other = ids.putIfAbsent(content, id);
            if (other != null) {
                throw broken(file, "ids " + other + " and " + id + " are both named " + content);
            }
            names[id - baseVocabSize] = content;
        }
        for (int i = 0; i < count; i++) {
            if (names[i] == null) {
                String reserved = "<|reserved_token_" + (baseVocabSize + i) + "|>";
                if (ids.containsKey(reserved)) {
                    throw broken(file, "id " + ids.get(reserved) + " is named " + reserved + ", the default name of id "
                            + (baseVocabSize + i));
                }
                names[i] = reserved;
            }
        }
        return names;
    }

    private static GlimpseException broken(Path file, String what) {
        return GlimpseException.unavailable("tokenizer_files_invalid", file + ": " + what);
    }
}
