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
        Sampling text = sampling(file, root, "default_sampling", 0.0, 1.0);
        int maxTokens = integer(file, root.path("default_sampling"), "default_sampling", "max_tokens", 256);
        if (maxTokens <= 0) throw new InvalidModelCardException(file, "default_sampling.max_tokens", "must be > 0");
        ModelCard.ImageSampling d = ModelCard.ImageSampling.DEFAULT;
        Sampling image = sampling(file, root, "default_image_sampling", d.temperature(), d.topP());
        List<String> stops = new ArrayList<>();
        JsonNode st = root.path("stop_tokens");
        if (!st.isMissingNode()) {
            if (!st.isArray()) throw new InvalidModelCardException(file, "stop_tokens", "must be an array of token names");
            st.forEach(n -> stops.add(n.asText()));
        }
        return new ModelCard(name, family, checkpoint, dtype, imageTokenLimit, maxImages, context,
                new ModelCard.DefaultSampling(text.temperature(), text.topP(), text.topK(), maxTokens),
                new ModelCard.ImageSampling(image.temperature(), image.topP(), image.topK()), List.copyOf(stops), cardDir);
    }

    private record Sampling(double temperature, double topP, int topK) {}

    /** temperature, top_p and top_k of the sampling object {@code field} (absent: the given defaults, top_k 0). */
    private static Sampling sampling(Path file, JsonNode root, String field, double temperature, double topP) {
        JsonNode s = root.path(field);
        if (!s.isMissingNode() && !s.isNull() && !s.isObject()) {
            throw new InvalidModelCardException(file, field, "must be an object");
        }
        Sampling out = new Sampling(number(file, s, field, "temperature", temperature), number(file, s, field, "top_p", topP),
                integer(file, s, field, "top_k", 0));
        if (out.temperature() < 0) throw new InvalidModelCardException(file, field + ".temperature", "must be >= 0");
        if (!(out.topP() > 0 && out.topP() <= 1)) throw new InvalidModelCardException(file, field + ".top_p", "must be in (0, 1]");
        if (out.topK() < 0) throw new InvalidModelCardException(file, field + ".top_k", "must be >= 0");
        return out;
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

    /** A number of the object {@code parent}; a present non-number is an error, not a silent default. */
    private static double number(Path file, JsonNode s, String parent, String field, double dflt) {
        JsonNode n = s.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw new InvalidModelCardException(file, parent + "." + field, "must be a number");
        return n.asDouble();
    }

    private static int integer(Path file, JsonNode s, String parent, String field, int dflt) {
        JsonNode n = s.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new InvalidModelCardException(file, parent + "." + field, "must be an integer");
        }
        return n.asInt();
    }

    public static final class InvalidModelCardException extends IllegalArgumentException {
        public InvalidModelCardException(Path file, String field, String problem) {
            super("invalid model card " + file + ": field '" + field + "' " + problem);
        }
    }
}
