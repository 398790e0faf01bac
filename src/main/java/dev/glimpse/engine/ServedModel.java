package dev.glimpse.engine;

import dev.glimpse.card.ModelCard;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageKeys;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.TokenBytes;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * One servable model of any family: its {@link ModelFamily} (tokenizer, template, preprocessing, graphs, runner), an image
 * worker pool (decode + preprocess + content hash, off the engine thread), and the continuous-batching {@link Engine} over
 * the family's runner. Owns every native resource of the model; {@link #close()} drains in-flight requests first.
 */
public final class ServedModel implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ServedModel.class);

    /** Encoded image bytes and the JSON path that named them (for error messages). */
    public record ImageInput(byte[] bytes, String param) {}

    /** Opens a family's model for a card; the family owns what it opens. */
    @FunctionalInterface
    public interface FamilyLoader {
        ModelFamily load(ModelCard card, OrtRuntime runtime, Path graphCacheDir, VisionCache visionCache);
    }

    private final ModelCard card;
    private final ImageLimits imageLimits;
    private final ModelFamily family;
    private final VisionCache visionCache;
    private final Engine engine;
    private final ExecutorService imageWorkers;

    public ServedModel(ModelCard card, FamilyLoader loader, OrtRuntime runtime, Path graphCacheDir,
                       EngineConfig engineConfig, ImageLimits imageLimits, long visionCacheBytes, MeterRegistry metrics) {
        this.card = card;
        this.imageLimits = imageLimits;
        this.visionCache = new VisionCache(visionCacheBytes, metrics, card.name());
        this.family = loader.load(card, runtime, graphCacheDir, visionCache);
        Set<Integer> stopIds = new HashSet<>();
        for (String s : card.stopTokens()) stopIds.add(family.specialTokenId(s));
        this.engine = new Engine(card.name(), family.runner(), family.tokenBytes(), stopIds, engineConfig, metrics).start();
        AtomicInteger n = new AtomicInteger();
        this.imageWorkers = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "glimpse-image-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        log.info("serving {} ({}, {} on {}), {}", card.name(), card.family(), card.graphDtype(), runtime.deviceName(),
                family.describe());
    }

    /** A server-less instance with default limits (CLI commands, tests). */
    public static ServedModel standalone(ModelCard card, FamilyLoader loader, OrtRuntime runtime, Path graphCacheDir) {
        return new ServedModel(card, loader, runtime, graphCacheDir, EngineConfig.defaults(), ImageLimits.DEFAULT, 256L << 20,
                new SimpleMeterRegistry());
    }

    public ModelCard card() { return card; }
    public ModelFamily family() { return family; }
    public TokenBytes tokenBytes() { return family.tokenBytes(); }
    public Engine engine() { return engine; }
    public VisionCache visionCache() { return visionCache; }
    public long cacheBytesInUse() { return family.runner().cacheBytesInUse(); }
    public long cancelledCount() { return engine.cancelledCount(); }
    public int lastCompletionTokens() { return engine.lastCompletionTokens(); }

    /** Whether the model can draw ({@code /v1/images/generations}). */
    public boolean canGenerateImages() {
        return family.imageGenerator() != null;
    }

    /**
     * The model's drawing side.
     *
     * @throws GlimpseException 400 model_cannot_generate when the model cannot draw
     */
    public ImageGenerator imageGenerator() {
        ImageGenerator gen = family.imageGenerator();
        if (gen == null) {
            throw GlimpseException.invalid("model_cannot_generate", "model", "model " + card.name() + " (" + card.family()
                    + " family) reads images but cannot generate them; image generation needs a model that draws (e.g. a "
                    + "Chameleon-family checkpoint with a VQ-GAN decoder)");
        }
        return gen;
    }

    /**
     * CPU work before admission, off the engine thread: decode, preprocess and hash every image (in parallel on the image
     * workers; a file whose value is still in the vision cache is found by the hash of its bytes and not decoded),
     * render the chat template, check the context. Throws {@link GlimpseException} (4xx) for client errors.
     */
    public PreparedRequest prepare(List<ChatMessage> messages, List<ImageInput> images, SamplingParams params) {
        if (images.size() > card.maxImages()) {
            throw GlimpseException.invalid("too_many_images", "messages",
                    "this request has " + images.size() + " images; model " + card.name() + " accepts at most " + card.maxImages());
        }
        List<CompletableFuture<PreparedImage>> work = new ArrayList<>(images.size());
        for (ImageInput in : images) {
            work.add(CompletableFuture.supplyAsync(() -> {
                try {
                    String encodedKey = ImageKeys.encodedKey(in.bytes());
                    VisionCache.CachedImage seen = visionCache.findEncoded(encodedKey);
                    if (seen != null) return seen;
                    PreparedImage image = family.prepareImage(in.bytes(), imageLimits);
                    visionCache.rememberEncoded(encodedKey, image);
                    return image;
                } catch (GlimpseException e) {
                    throw new GlimpseException(e.status(), e.type(), e.code(), in.param(), e.getMessage(), e);
                }
            }, imageWorkers));
        }
        List<PreparedImage> prepared = new ArrayList<>(images.size());
        for (CompletableFuture<PreparedImage> f : work) {
            try {
                prepared.add(f.join());
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw e;
            }
        }
        long[] prompt = family.renderChat(messages, prepared);
        SamplingParams clamped = clampToContext(prompt.length, params, "messages");
        return new PreparedRequest(newId("chatcmpl-"), prompt, prepared, clamped, family.textConstraint());
    }

    private SamplingParams clampToContext(int promptLength, SamplingParams params, String param) {
        int room = card.contextLength() - promptLength;
        if (room <= 0) {
            throw GlimpseException.invalid("context_length_exceeded", param, "the prompt is " + promptLength
                    + " tokens (images included); model " + card.name() + " has a context of " + card.contextLength() + " tokens");
        }
        return params.maxTokens() > room ? params.withMaxTokens(room) : params;
    }

    private static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "");
    }

    /** Queues a prepared request; 429 at once when the admission queue is full, 503 while shutting down. */
    public CompletableFuture<GenerationResult> submit(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled) {
        return engine.submit(req, sink, cancelled);
    }

    /** {@link #submit} with an admission class: job items go {@link Priority#BACKGROUND}, behind interactive requests. */
    public CompletableFuture<GenerationResult> submit(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled,
                                                      Priority priority) {
        return engine.submit(req, sink, cancelled, priority);
    }

    /**
     * Draws {@code n} images for a text prompt, as n engine requests batched like any others (image n uses seed + n when a
     * seed is given, so one request with n = 2 equals two with consecutive seeds).
     *
     * @param sampling temperature / top_p / top_k for the image tokens; max_tokens is set by the model
     * @return the pictures as PNG bytes, in order
     * @throws GlimpseException 400 model_cannot_generate when the model cannot draw
     */
    public CompletableFuture<List<byte[]>> generateImages(String prompt, int n, SamplingParams sampling, BooleanSupplier cancelled) {
        ImageGenerator gen = imageGenerator();
        long[] ids = gen.renderPrompt(prompt);
        if (ids.length + gen.imageTokens() > card.contextLength()) {
            throw GlimpseException.invalid("context_length_exceeded", "prompt", "the prompt is " + ids.length + " tokens and "
                    + "an image " + gen.imageTokens() + "; model " + card.name() + " has a context of " + card.contextLength() + " tokens");
        }
        List<CompletableFuture<byte[]>> images = new ArrayList<>(n);
        // If image k cannot be queued (429 queue full, 503 shutting down), the ones already queued are cancelled too:
        // the client gets the error and nobody would collect their pictures.
        java.util.concurrent.atomic.AtomicBoolean abandoned = new java.util.concurrent.atomic.AtomicBoolean();
        BooleanSupplier stop = () -> abandoned.get() || cancelled.getAsBoolean();
        try {
            for (int i = 0; i < n; i++) {
                SamplingParams p = sampling.withMaxTokens(gen.imageTokens());
                if (sampling.seed() != null) p = p.withSeed(sampling.seed() + i);
                PreparedRequest req = new PreparedRequest(newId("img-"), ids, List.of(), p, gen.constraint());
                images.add(engine.submit(req, text -> true, stop).thenApplyAsync(r -> {
                    if (r.finishReason() == FinishReason.CANCELLED) throw new java.util.concurrent.CancellationException();
                    return png(gen.render(r.tokenIds()));
                }, imageWorkers));
            }
        } catch (RuntimeException e) {
            abandoned.set(true);
            throw e;
        }
        return CompletableFuture.allOf(images.toArray(CompletableFuture[]::new))
                .thenApply(v -> images.stream().map(CompletableFuture::join).toList());
    }

    /** RGB -> PNG. */
    static byte[] png(DecodedImage img) {
        java.awt.image.BufferedImage bi = new java.awt.image.BufferedImage(img.width(), img.height(),
                java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
        byte[] rgb = img.rgb();
        byte[] bgr = ((java.awt.image.DataBufferByte) bi.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            javax.imageio.ImageIO.write(bi, "png", out);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("PNG encoding failed", e);
        }
        return out.toByteArray();
    }

    @Override
    public void close() throws Exception {
        engine.shutdown(60, TimeUnit.SECONDS);
        imageWorkers.shutdownNow();
        family.close();
    }
}
