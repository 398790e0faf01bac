package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.engine.GenerationResult;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.error.GlimpseException;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** OpenAI-compatible chat completions and model listing. Transport only: no tensors here, the engine does the work. */
@RestController
public class ChatCompletionsController {

    private final ServedModel served;
    private final ChatService chats;
    private final ObjectMapper json;

    public ChatCompletionsController(ServedModel served, ChatService chats, ObjectMapper json) {
        this.served = served;
        this.chats = chats;
        this.json = json;
    }

    @GetMapping("/v1/models")
    public ObjectNode models() {
        ObjectNode root = json.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        ObjectNode model = data.addObject().put("id", served.card().name()).put("object", "model").put("created", 0)
                .put("owned_by", "glimpse").put("family", served.card().family())
                .put("context_length", served.card().contextLength()).put("max_images", served.card().maxImages());
        ArrayNode sizes = model.putArray("image_generation_sizes"); // empty: the model cannot draw
        if (served.canGenerateImages()) served.imageGenerator().sizes().forEach(sizes::add);
        return root;
    }

    @PostMapping(path = "/v1/chat/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<StreamingResponseBody> complete(@RequestBody JsonNode body) throws Exception {
        ChatService.Prepared p = chats.prepare(body);
        if (p.stream()) return stream(p.request(), p.model(), p.created(), p.includeUsage());

        GenerationResult r = await(chats.generate(p, dev.glimpse.engine.TokenSink.NONE, () -> false));
        // One return type for both modes: Spring picks the streaming handler from the declared type.
        byte[] bytes = json.writeValueAsBytes(chats.completionJson(p, r));
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).contentLength(bytes.length).body(out -> out.write(bytes));
    }

    /**
     * SSE: the engine thread puts text deltas on a queue; this (servlet async) thread writes them. A failed write means the
     * client left: the flag it sets is read by the engine before its next decoder step, which then frees the sequence.
     */
    private ResponseEntity<StreamingResponseBody> stream(PreparedRequest req, String model, long created, boolean includeUsage) {
        BlockingQueue<String> deltas = new LinkedBlockingQueue<>();
        AtomicBoolean clientGone = new AtomicBoolean();
        CompletableFuture<GenerationResult> done = served.submit(req, d -> deltas.offer(d) && !clientGone.get(), clientGone::get);
        // Wake the writer as soon as the request ends (the engine offers every delta before completing the future), so
        // the finish chunk does not wait for the poll timeout.
        done.whenComplete((r, e) -> deltas.offer(END_OF_STREAM));
        StreamingResponseBody body = out -> {
            try {
                write(out, chunk(req.id(), model, created, json.createObjectNode().put("role", "assistant").put("content", ""), null));
                while (true) {
                    String d = deltas.poll(50, TimeUnit.MILLISECONDS);
                    if (d == END_OF_STREAM) break;
                    if (d != null) {
                        write(out, chunk(req.id(), model, created, json.createObjectNode().put("content", d), null));
                    } else if (done.isDone() && deltas.isEmpty()) {
                        break;
                    }
                }
                GenerationResult r = done.join();
                write(out, chunk(req.id(), model, created, json.createObjectNode(), r.finishReason().wire()));
                if (includeUsage) {
                    ObjectNode u = json.createObjectNode().put("id", req.id()).put("object", "chat.completion.chunk")
                            .put("created", created).put("model", model);
                    u.putArray("choices");
                    ChatService.usage(u.putObject("usage"), r);
                    write(out, u);
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                clientGone.set(true);
            } catch (InterruptedException e) {
                clientGone.set(true);
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                clientGone.set(true);
                // the engine's own error (e.g. request_timeout) keeps its type and code; anything else is internal
                GlimpseException g = ChatService.unwrap(e);
                ObjectNode err = ApiErrorHandler.body(g.getMessage(), g.type(), g.param(), g.code());
                try {
                    write(out, err);
                } catch (IOException ignored) {
                    // client already gone
                }
            }
        };
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).header("Cache-Control", "no-cache").body(body);
    }

    /** Queue marker for "the request has ended"; compared by identity, so no text delta can be mistaken for it. */
    @SuppressWarnings("StringOperationCanBeSimplified")
    private static final String END_OF_STREAM = new String("end of stream");

    private ObjectNode chunk(String id, String model, long created, ObjectNode delta, String finish) {
        ObjectNode c = json.createObjectNode().put("id", id).put("object", "chat.completion.chunk").put("created", created)
                .put("model", model);
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        choice.set("delta", delta);
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish);
        return c;
    }

    private void write(OutputStream out, JsonNode event) throws IOException {
        out.write(("data: " + json.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static GenerationResult await(CompletableFuture<GenerationResult> f) throws Exception {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw ChatService.unwrap(e);
        }
    }
}
