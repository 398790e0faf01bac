package dev.glimpse.card;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and validates card.json. Every failure names the card, the field and, where there is a closed set, the valid
 * choices, so a bad card fails start-up with a message a user can act on.
 */
public final class ModelCardLoader {

    public static final String CARD_FILE = "card.json";

    private ModelCardLoader() {}

    public static ModelCard load(Path cardDir) {
        Path file = cardDir.resolve(CARD_FILE);
        if (!Files.isRegularFile(file)) {
            throw new InvalidModelCardException(file, "file", "missing: every model card directory needs a " + CARD_FILE);
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new InvalidModelCardException(file, "(json)", "not valid JSON: " + e.getMessage());
        }
        String name = text(file, root, "name", null);
        String family = text(file, root, "family", null);
        if (!ModelCard.FAMILIES.contains(family)) {
            throw new InvalidModelCardException(file, "family", "'" + family + "' is not supported; valid: " + ModelCard.FAMILIES);
        }
        String dtype = text(file, root, "graph_dtype", "fp32");
        if (!ModelCard.DTYPES.contains(dtype)) {
            throw new InvalidModelCardException(file, "graph_dtype", "'" + dtype + "' is not supported; valid: " + ModelCard.DTYPES);
        }
        Path checkpoint = cardDir.resolve(text(file, root, "checkpoint", ".")).normalize();
        if (!Files.isRegularFile(checkpoint.resolve("config.json"))) {
            throw new InvalidModelCardException(file, "checkpoint", "'" + checkpoint + "' has no config.json");
        }
        int imageTokenLimit = positive(file, root, "image_token_limit", 4096);
        int maxImages = positive(file, root, "max_images", 8);
        int context = positive(file, root, "context_length", 4096);
        JsonNode s = root.path("default_sampling");
        if (!s.isMissingNode() && !s.isNull() && !s.isObject()) {
            throw new InvalidModelCardException(file, "default_sampling", "must be an object");
        }
        double temperature = number(file, s, "temperature", 0.0);
        double topP = number(file, s, "top_p", 1.0);
        int topK = integer(file, s, "top_k", 0);
        int maxTokens = integer(file, s, "max_tokens", 256);
        if (temperature < 0) throw new InvalidModelCardException(file, "default_sampling.temperature", "must be >= 0");
        if (!(topP > 0 && topP <= 1)) throw new InvalidModelCardException(file, "default_sampling.top_p", "must be in (0, 1]");
        if (topK < 0) throw new InvalidModelCardException(file, "default_sampling.top_k", "must be >= 0");
        if (maxTokens <= 0) throw new InvalidModelCardException(file, "default_sampling.max_tokens", "must be > 0");
        List<String> stops = new ArrayList<>();
        JsonNode st = root.path("stop_tokens");
        if (!st.isMissingNode()) {
            if (!st.isArray()) throw new InvalidModelCardException(file, "stop_tokens", "must be an array of token names");
            st.forEach(n -> stops.add(n.asText()));
        }
        return new ModelCard(name, family, checkpoint, dtype, imageTokenLimit, maxImages, context,
                new ModelCard.DefaultSampling(temperature, topP, topK, maxTokens), List.copyOf(stops), cardDir);
    }

    private static String text(Path file, JsonNode root, String field, String dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            if (dflt != null) return dflt;
            throw new InvalidModelCardException(file, field, "is required");
        }
        if (!n.isTextual() || n.asText().isBlank()) throw new InvalidModelCardException(file, field, "must be a non-empty string");
        return n.asText();
    }

    private static int positive(Path file, JsonNode root, String field, int dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() <= 0) throw new InvalidModelCardException(file, field, "must be a positive integer");
        return n.asInt();
    }

    /** A default_sampling number; a present non-number is an error, not a silent default. */
    private static double number(Path file, JsonNode s, String field, double dflt) {
        JsonNode n = s.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw new InvalidModelCardException(file, "default_sampling." + field, "must be a number");
        return n.asDouble();
    }

    private static int integer(Path file, JsonNode s, String field, int dflt) {
        JsonNode n = s.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new InvalidModelCardException(file, "default_sampling." + field, "must be an integer");
        }
        return n.asInt();
    }

    public static final class InvalidModelCardException extends IllegalArgumentException {
        public InvalidModelCardException(Path file, String field, String problem) {
            super("invalid model card " + file + ": field '" + field + "' " + problem);
        }
    }
}
