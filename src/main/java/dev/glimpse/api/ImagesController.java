package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.card.ModelCard;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.error.GlimpseException;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * OpenAI images API ({@code POST /v1/images/generations}). The request is validated in full first, so a client learns
 * about a bad field before it learns that the served model cannot draw; a model that cannot generate images (Kimi-VL
 * reads images, it does not write them) answers 400 {@code model_cannot_generate}. A model that draws runs each of the n
 * images as an engine request (batched with everything else) and answers PNGs as b64_json.
 *
 * <p>Sampling: {@code seed} (image i uses seed + i), and as Glimpse extensions {@code temperature} and {@code top_p}
 * (defaults: the card's {@code default_image_sampling}, else 1.0 and 0.9); {@code size} must be one the model draws
 * (default: its first).
 */
@RestController
public class ImagesController {

    static final List<String> FORMATS = List.of("b64_json");
    static final int MAX_N = 4;
    static final int MAX_PROMPT_CHARS = 4000;

    private final ServedModel served;

    public ImagesController(ServedModel served) {
        this.served = served;
    }

    @PostMapping(path = "/v1/images/generations", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ObjectNode generate(@RequestBody JsonNode body) {
        if (body == null || !body.isObject()) throw GlimpseException.invalid("invalid_request", null, "the request body must be a JSON object");
        JsonNode prompt = body.get("prompt");
        if (prompt == null || !prompt.isTextual() || prompt.asText().isBlank()) {
            throw GlimpseException.invalid("missing_field", "prompt", "'prompt' is required (a non-empty string)");
        }
        if (prompt.asText().length() > MAX_PROMPT_CHARS) {
            throw GlimpseException.invalid("invalid_value", "prompt", "prompt is longer than " + MAX_PROMPT_CHARS + " characters");
        }
        String model = body.path("model").asText(served.card().name());
        if (!model.equals(served.card().name())) {
            throw GlimpseException.notFound("model_not_found", "model", "model '" + model + "' does not exist; available: ["
                    + served.card().name() + "]");
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 1 || n.asInt() > MAX_N)) {
            throw GlimpseException.invalid("invalid_value", "n", "n must be an integer in 1.." + MAX_N);
        }
        String format = body.path("response_format").asText("b64_json");
        if (!FORMATS.contains(format)) {
            throw GlimpseException.invalid("invalid_value", "response_format", "response_format '" + format
                    + "' is not supported; valid: " + FORMATS + " (the server keeps no image URLs)");
        }
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull() && !(seed.isIntegralNumber() && seed.canConvertToLong())) {
            throw GlimpseException.invalid("invalid_type", "seed", "seed must be an integer");
        }
        JsonNode size = body.get("size");
        if (size != null && !size.isNull() && (!size.isTextual() || !size.asText().matches("\\d{1,5}x\\d{1,5}"))) {
            throw GlimpseException.invalid("invalid_value", "size", "size must look like '512x512'");
        }
        ModelCard.ImageSampling defaults = served.card().imageDefaults();
        double temperature = JsonFields.number(body, "temperature", defaults.temperature());
        double topP = JsonFields.number(body, "top_p", defaults.topP());
        List<String> sizes = served.imageGenerator().sizes(); // 400 model_cannot_generate for models that do not draw
        if (size != null && !size.isNull() && !sizes.contains(size.asText())) {
            throw GlimpseException.invalid("invalid_value", "size", "size '" + size.asText() + "' is not one model " + model
                    + " draws; valid: " + sizes);
        }
        // max_tokens is replaced by the image's token count
        SamplingParams sampling = new SamplingParams(temperature, topP, defaults.topK(), 1,
                seed == null || seed.isNull() ? null : seed.asLong(), List.of());
        List<byte[]> pngs;
        try {
            pngs = served.generateImages(prompt.asText(), n == null || n.isNull() ? 1 : n.asInt(), sampling, () -> false).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("created", Instant.now().getEpochSecond());
        ArrayNode data = out.putArray("data");
        for (byte[] png : pngs) data.addObject().put("b64_json", Base64.getEncoder().encodeToString(png));
        return out;
    }
}
