package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.card.ModelCard;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ContentPart;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * OpenAI chat-completions JSON -> typed request. Every rejection is a 400 naming the offending field by its JSON path
 * (e.g. {@code messages[0].content[1].image_url.url}), so clients can fix what they sent.
 */
final class ChatRequestParser {

    static final Set<String> ROLES = Set.of("system", "user", "assistant");
    static final List<String> PART_TYPES = List.of("text", "image_url");

    /** An image reference in prompt order, with the JSON path that named it. */
    record ImageRef(String url, String param) {}

    record ParsedChat(String model, List<ChatMessage> messages, List<ImageRef> images, SamplingParams params,
                      boolean stream, boolean includeUsage) {}

    private ChatRequestParser() {}

    static String modelName(JsonNode body) {
        if (body == null || !body.isObject()) throw GlimpseException.invalid("invalid_request", null, "the request body must be a JSON object");
        JsonNode m = body.get("model");
        if (m == null || !m.isTextual() || m.asText().isBlank()) {
            throw GlimpseException.invalid("missing_field", "model", "'model' is required (see GET /v1/models)");
        }
        return m.asText();
    }

    static ParsedChat parse(JsonNode body, ModelCard card) {
        String model = modelName(body);
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw GlimpseException.invalid("missing_field", "messages", "'messages' must be a non-empty array");
        }
        List<ChatMessage> messages = new ArrayList<>();
        List<ImageRef> images = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            String path = "messages[" + i + "]";
            JsonNode m = msgs.get(i);
            if (!m.isObject()) throw GlimpseException.invalid("invalid_type", path, path + " must be an object");
            String role = m.path("role").asText("");
            if (!ROLES.contains(role)) {
                throw GlimpseException.invalid("invalid_value", path + ".role",
                        "role '" + role + "' is not supported; valid: [system, user, assistant]");
            }
            List<ContentPart> parts = new ArrayList<>();
            JsonNode content = m.get("content");
            if (content == null || content.isNull()) {
                if (!role.equals("assistant")) throw GlimpseException.invalid("missing_field", path + ".content", path + ".content is required");
            } else if (content.isTextual()) {
                parts.add(new TextPart(content.asText()));
            } else if (content.isArray()) {
                for (int j = 0; j < content.size(); j++) {
                    String pp = path + ".content[" + j + "]";
                    JsonNode part = content.get(j);
                    String type = part.path("type").asText("");
                    switch (type) {
                        case "text" -> {
                            JsonNode t = part.get("text");
                            if (t == null || !t.isTextual()) throw GlimpseException.invalid("invalid_type", pp + ".text", pp + ".text must be a string");
                            parts.add(new TextPart(t.asText()));
                        }
                        case "image_url" -> {
                            JsonNode iu = part.get("image_url");
                            String url = iu == null ? null : iu.isTextual() ? iu.asText() : iu.path("url").asText(null);
                            parts.add(new ImagePart(images.size()));
                            images.add(new ImageRef(url, pp + ".image_url.url"));
                        }
                        default -> throw GlimpseException.invalid("invalid_value", pp + ".type",
                                "content part type '" + type + "' is not supported; valid: " + PART_TYPES);
                    }
                }
            } else {
                throw GlimpseException.invalid("invalid_type", path + ".content", path + ".content must be a string or an array of parts");
            }
            messages.add(new ChatMessage(role, parts));
        }
        ModelCard.DefaultSampling d = card.defaults();
        double temperature = number(body, "temperature", d.temperature());
        double topP = number(body, "top_p", d.topP());
        int topK = (int) number(body, "top_k", d.topK());
        JsonNode mt = body.has("max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        int maxTokens = d.maxTokens();
        if (mt != null && !mt.isNull()) {
            if (!mt.isIntegralNumber()) throw GlimpseException.invalid("invalid_type", "max_tokens", "max_tokens must be an integer");
            maxTokens = mt.asInt();
        }
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber()) throw GlimpseException.invalid("invalid_type", "seed", "seed must be an integer");
            seed = s.asLong();
        }
        List<String> stop = new ArrayList<>();
        JsonNode st = body.get("stop");
        if (st != null && !st.isNull()) {
            if (st.isTextual()) stop.add(st.asText());
            else if (st.isArray()) st.forEach(x -> stop.add(x.asText()));
            else throw GlimpseException.invalid("invalid_type", "stop", "stop must be a string or an array of strings");
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && n.asInt(1) != 1) {
            throw GlimpseException.unsupported("unsupported_value", "n", "only n = 1 is supported");
        }
        boolean stream = body.path("stream").asBoolean(false);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        SamplingParams params = new SamplingParams(temperature, topP, topK, maxTokens, seed, stop);
        return new ParsedChat(model, messages, images, params, stream, includeUsage);
    }

    private static double number(JsonNode body, String field, double dflt) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw GlimpseException.invalid("invalid_type", field, field + " must be a number");
        return v.asDouble();
    }
}
