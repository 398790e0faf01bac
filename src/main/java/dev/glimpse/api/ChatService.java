package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.GlimpseProperties;
import dev.glimpse.engine.GenerationResult;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.engine.TokenSink;
import dev.glimpse.error.GlimpseException;
import org.springframework.stereotype.Service;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * One chat completion from an OpenAI request body, shared by the HTTP endpoint and the batch runner (a batch line runs
 * exactly what {@code POST /v1/chat/completions} would). Validation errors are thrown as {@link GlimpseException}s.
 */
@Service
public class ChatService {

    private final ServedModel served;
    private final ImageSourceResolver images;
    private final ObjectMapper json;

    public ChatService(ServedModel served, GlimpseProperties props, ObjectMapper json) {
        this.served = served;
        this.json = json;
        this.images = new ImageSourceResolver(props.remoteImages(), props.limits().maxImageBytes());
    }

    /** A validated, tokenised request with its images preprocessed (blocking: decodes images on the image pool). */
    public record Prepared(PreparedRequest request, String model, long created, boolean stream, boolean includeUsage) {}

    public Prepared prepare(JsonNode body) {
        String model = ChatRequestParser.modelName(body);
        if (!model.equals(served.card().name())) {
            throw GlimpseException.notFound("model_not_found", "model",
                    "model '" + model + "' does not exist; available: [" + served.card().name() + "]");
        }
        ChatRequestParser.ParsedChat chat = ChatRequestParser.parse(body, served.card());
        if (chat.images().size() > served.card().maxImages()) {
            throw GlimpseException.invalid("too_many_images", "messages", "this request has " + chat.images().size()
                    + " images; model " + model + " accepts at most " + served.card().maxImages());
        }
        List<ServedModel.ImageInput> inputs = new ArrayList<>(chat.images().size());
        for (ChatRequestParser.ImageRef ref : chat.images()) {
            inputs.add(new ServedModel.ImageInput(images.resolve(ref.url(), ref.param()), ref.param()));
        }
        PreparedRequest req = served.prepare(chat.messages(), inputs, chat.params());
        return new Prepared(req, model, System.currentTimeMillis() / 1000, chat.stream(), chat.includeUsage());
    }

    /** Runs a prepared request to the end; the future fails with a GlimpseException (429, 504, 500...). */
    public CompletableFuture<GenerationResult> generate(Prepared p, TokenSink sink, BooleanSupplier cancelled) {
        return served.submit(p.request(), sink, cancelled);
    }

    /** {@link #generate} as background work (a batch line): admitted after every waiting interactive request. */
    public CompletableFuture<GenerationResult> generateInBackground(Prepared p, BooleanSupplier cancelled) {
        return served.submit(p.request(), TokenSink.NONE, cancelled, dev.glimpse.engine.Priority.BACKGROUND);
    }

    /** The {@code chat.completion} object of a finished request. */
    public ObjectNode completionJson(Prepared p, GenerationResult r) {
        ObjectNode root = json.createObjectNode().put("id", p.request().id()).put("object", "chat.completion")
                .put("created", p.created()).put("model", p.model());
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", r.text());
        choice.put("finish_reason", r.finishReason().wire());
        usage(root.putObject("usage"), r);
        return root;
    }

    static void usage(ObjectNode u, GenerationResult r) {
        u.put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.completionTokens())
                .put("total_tokens", r.promptTokens() + r.completionTokens());
    }

    /** The GlimpseException behind a failed generation future (anything else becomes a 500). */
    public static GlimpseException unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof GlimpseException g) return g;
        return GlimpseException.internal("generation failed: " + t.getMessage(), t);
    }
}
