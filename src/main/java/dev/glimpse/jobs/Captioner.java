package dev.glimpse.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.api.ChatService;
import dev.glimpse.engine.FinishReason;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.Priority;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.engine.TokenSink;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Captions one image file: the unit of work of caption jobs (server) and of the {@code caption} command (in-process).
 * Result lines are JSON objects {@code {"path", "caption", "tokens", "error"}}; a file that cannot be read or is not an
 * image gives a line with {@code error} set (the job goes on).
 */
public final class Captioner {

    private final ServedModel served;
    private final Executor prepare;
    private final long maxImageBytes;
    private final ObjectMapper json = new ObjectMapper();

    /** @param prepare runs file reads and image preprocessing (blocking) off the caller's thread */
    public Captioner(ServedModel served, Executor prepare, long maxImageBytes) {
        this.served = served;
        this.prepare = prepare;
        this.maxImageBytes = maxImageBytes;
    }

    /**
     * Files below {@code root} in a stable order (relative paths with '/', sorted); hidden files and folders (a name
     * starting with '.') are skipped. Every other regular file is an item: one that is not an image fails as an item.
     */
    public static List<String> listFiles(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(p -> !p.equals(root)).forEach(p -> {
                Path rel = root.relativize(p);
                for (Path part : rel) if (part.toString().startsWith(".")) return;
                if (Files.isRegularFile(p)) out.add(rel.toString().replace(p.getFileSystem().getSeparator(), "/"));
            });
        }
        out.sort(null);
        return out;
    }

    /** Greedy caption of {@code root/rel}. Completes exceptionally only with a 429 (engine full: retry later). */
    public CompletableFuture<JobKind.Outcome> caption(Path root, String rel, String prompt, int maxTokens, BooleanSupplier cancelled) {
        return CompletableFuture.supplyAsync(() -> {
            byte[] bytes = read(root, rel);
            List<ChatMessage> messages = List.of(new ChatMessage("user", List.of(new ImagePart(0), new TextPart(prompt))));
            return served.prepare(messages, List.of(new ServedModel.ImageInput(bytes, "image")),
                    new SamplingParams(0, 1, 0, maxTokens, null, List.of()));
        }, prepare).thenCompose((PreparedRequest req) -> served.submit(req, TokenSink.NONE, cancelled, Priority.BACKGROUND)).handle((r, e) -> {
            if (e == null && r.finishReason() == FinishReason.CANCELLED) return JobKind.Outcome.INTERRUPTED;
            if (e == null) return new JobKind.Outcome(true, line(rel, r.text(), r.completionTokens(), null), r.completionTokens());
            GlimpseException g = ChatService.unwrap(e);
            if (g.status() == 429) throw g;
            return failure(rel, g);
        });
    }

    public JobKind.Outcome failure(String rel, GlimpseException g) {
        ObjectNode err = json.createObjectNode().put("code", g.code()).put("message", g.getMessage());
        return new JobKind.Outcome(false, line(rel, null, 0, err), 0);
    }

    private byte[] read(Path root, String rel) {
        Path file = root.resolve(rel).normalize();
        try {
            // A symlink inside the source must not lead outside it.
            Path real = file.toRealPath();
            if (!real.startsWith(root.toRealPath())) {
                throw GlimpseException.invalid("outside_source", "path", rel + " resolves outside the job's source folder");
            }
            long size = Files.size(real);
            if (size > maxImageBytes) {
                throw GlimpseException.tooLarge("image_too_large", "path", rel + " is " + size + " bytes; the limit is " + maxImageBytes);
            }
            return Files.readAllBytes(real);
        } catch (IOException e) {
            throw GlimpseException.invalid("unreadable_file", "path", rel + " cannot be read: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
    }

    private String line(String rel, String caption, int tokens, ObjectNode error) {
        ObjectNode o = json.createObjectNode().put("path", rel);
        if (caption == null) o.putNull("caption");
        else o.put("caption", caption);
        o.put("tokens", tokens);
        if (error == null) o.putNull("error");
        else o.set("error", error);
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
