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
        rejectUnsupported(body);
        ModelCard.DefaultSampling d = card.defaults();
        double temperature = JsonFields.number(body, "temperature", d.temperature());
        double topP = JsonFields.number(body, "top_p", d.topP());
        int topK = JsonFields.integer(body, "top_k", d.topK());
        // max_completion_tokens (the current OpenAI name) wins over the deprecated max_tokens when both carry a value
        String maxField = JsonFields.present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = JsonFields.integer(body, maxField, d.maxTokens());
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw GlimpseException.invalid("invalid_type", "seed", "seed must be a 64-bit integer");
            }
            seed = s.asLong();
        }
        List<String> stop = new ArrayList<>();
        JsonNode st = body.get("stop");
        if (st != null && !st.isNull()) {
            if (st.isTextual()) stop.add(st.asText());
            else if (st.isArray()) {
                for (int i = 0; i < st.size(); i++) {
                    if (!st.get(i).isTextual()) {
                        throw GlimpseException.invalid("invalid_type", "stop[" + i + "]", "stop must be a string or an array of strings");
                    }
                    stop.add(st.get(i).asText());
                }
            } else throw GlimpseException.invalid("invalid_type", "stop", "stop must be a string or an array of strings");
        }
        if (JsonFields.integer(body, "n", 1) != 1) throw GlimpseException.invalid("invalid_value", "n", "only n = 1 is supported");
        boolean stream = JsonFields.bool(body, "stream");
        JsonNode options = body.get("stream_options");
        if (options != null && !options.isNull() && !options.isObject()) {
            throw GlimpseException.invalid("invalid_type", "stream_options", "stream_options must be an object");
        }
        boolean includeUsage = options != null && options.isObject() && JsonFields.bool(options, "include_usage");
        SamplingParams params = new SamplingParams(temperature, topP, topK, maxTokens, seed, stop);
        return new ParsedChat(model, messages, images, params, stream, includeUsage);
    }

    /**
     * OpenAI fields this server does not implement: a request that asks for them gets a 400 rather than an answer that
     * silently lacks them (a client reading choices[0].logprobs, or expecting JSON mode, would otherwise break later).
     * Their neutral values (false, 0, empty, "text", "none") are accepted, since SDKs send those by default.
     */
    static void rejectUnsupported(JsonNode body) {
        if (JsonFields.bool(body, "logprobs")) unsupportedField("logprobs", "log probabilities are not returned");
        if (JsonFields.integer(body, "top_logprobs", 0) != 0) unsupportedField("top_logprobs", "log probabilities are not returned");
        for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
            if (JsonFields.number(body, penalty, 0.0) != 0.0) unsupportedField(penalty, "repetition penalties are not implemented");
        }
        for (String field : List.of("logit_bias", "tools", "functions")) {
            JsonNode v = body.get(field);
            if (v != null && !v.isNull() && !v.isEmpty()) unsupportedField(field, "'" + field + "' is not supported");
        }
        JsonNode choice = body.get("tool_choice");
        if (choice != null && !choice.isNull() && !"none".equals(choice.asText(null)) && !"auto".equals(choice.asText(null))) {
            unsupportedField("tool_choice", "tool calls are not supported");
        }
        JsonNode format = body.get("response_format");
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText(null))) {
            unsupportedField("response_format", "only response_format {\"type\": \"text\"} is supported (no JSON mode)");
        }
    }

    private static void unsupportedField(String field, String why) {
        throw GlimpseException.invalid("unsupported_parameter", field, why);
    }
}
