package dev.glimpse.engine;

import dev.glimpse.card.ModelCard;
import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.KimiVlPreprocessor;
import dev.glimpse.image.KimiVlPreprocessorConfig;
import dev.glimpse.image.PixelPatches;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.KimiChatTemplate;
import dev.glimpse.text.TiktokenTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One servable model and its engine: a single worker thread that runs requests in FIFO order behind a bounded admission
 * queue (a full queue is refused at once with 429, never blocks). Owns the model's sessions; {@link #close()} lets queued
 * and running requests finish before it frees them.
 */
public final class ServedModel implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ServedModel.class);

    private final ModelCard card;
    private final TiktokenTokenizer tokenizer;
    private final KimiChatTemplate template;
    private final KimiVlPreprocessor preprocessor;
    private final KimiVlModel model;
    private final KimiVlGenerator generator;
    private final ThreadPoolExecutor worker;
    private final int queueCapacity;
    private final java.util.concurrent.atomic.AtomicLong cancelled = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong completed = new java.util.concurrent.atomic.AtomicLong();
    private volatile int lastCompletionTokens;

    public ServedModel(ModelCard card, OrtRuntime runtime, Path graphCacheDir, int queueCapacity) {
        this.card = card;
        this.queueCapacity = queueCapacity;
        Path ckpt = card.checkpoint();
        KimiVlConfig config = KimiVlConfig.load(ckpt);
        this.tokenizer = TiktokenTokenizer.load(ckpt.resolve("tiktoken.model"), ckpt.resolve("tokenizer_config.json"));
        this.template = new KimiChatTemplate(tokenizer);
        KimiVlPreprocessorConfig pc = KimiVlPreprocessorConfig.fromJson(ckpt.resolve("preprocessor_config.json"));
        this.preprocessor = new KimiVlPreprocessor(new KimiVlPreprocessorConfig(pc.patchSize(), pc.mergeKernelH(),
                pc.mergeKernelW(), Math.min(pc.inTokenLimit(), card.imageTokenLimit()), pc.mean(), pc.std(), pc.padInput()));
        Path graphs = KimiVlConverter.cached(ckpt, graphCacheDir, card.graphDtype());
        this.model = new KimiVlModel(runtime, config, graphs);
        Set<Integer> stopIds = new HashSet<>();
        for (String s : card.stopTokens()) stopIds.add(tokenizer.specialId(s));
        this.generator = new KimiVlGenerator(model, tokenizer, stopIds);
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(queueCapacity),
                r -> {
                    Thread t = new Thread(r, "glimpse-engine-" + card.name());
                    t.setDaemon(true);
                    return t;
                });
        log.info("serving {} ({}, {} on {}), graphs in {}", card.name(), card.family(), card.graphDtype(), runtime.deviceName(), graphs);
    }

    public ModelCard card() {
        return card;
    }

    public TiktokenTokenizer tokenizer() {
        return tokenizer;
    }

    /** Requests that ended because their client went away. */
    public long cancelledCount() {
        return cancelled.get();
    }

    public long completedCount() {
        return completed.get();
    }

    public int lastCompletionTokens() {
        return lastCompletionTokens;
    }

    public int queueDepth() {
        return worker.getQueue().size();
    }

    /**
     * CPU work before admission, on the caller's thread: preprocess images, render the chat template, check the context.
     * Throws {@link GlimpseException} (400) for anything the client must fix.
     */
    public PreparedRequest prepare(List<ChatMessage> messages, List<DecodedImage> images, SamplingParams params) {
        if (images.size() > card.maxImages()) {
            throw GlimpseException.invalid("too_many_images", "messages",
                    "this request has " + images.size() + " images; model " + card.name() + " accepts at most " + card.maxImages());
        }
        List<PixelPatches> patches = new ArrayList<>(images.size());
        List<Integer> counts = new ArrayList<>(images.size());
        for (DecodedImage img : images) {
            PixelPatches p = preprocessor.process(img);
            patches.add(p);
            counts.add(p.tokens());
        }
        int[] ids = template.render(messages, counts, true);
        int room = card.contextLength() - ids.length;
        if (room <= 0) {
            throw GlimpseException.invalid("context_length_exceeded", "messages", "the prompt is " + ids.length
                    + " tokens (images included); model " + card.name() + " has a context of " + card.contextLength() + " tokens");
        }
        long[] prompt = new long[ids.length];
        for (int i = 0; i < ids.length; i++) prompt[i] = ids[i];
        SamplingParams clamped = params.maxTokens() > room ? params.withMaxTokens(room) : params;
        return new PreparedRequest("chatcmpl-" + UUID.randomUUID().toString().replace("-", ""), prompt, patches, clamped);
    }

    /**
     * Queues a prepared request. The future completes when generation ends (also when cancelled). Throws 429 at once if the
     * admission queue is full, 503 once shutting down.
     */
    public CompletableFuture<GenerationResult> submit(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled) {
        CompletableFuture<GenerationResult> f = new CompletableFuture<>();
        try {
            worker.execute(() -> {
                if (f.isDone()) return;
                try {
                    GenerationResult r = generator.generate(req, sink, cancelled);
                    lastCompletionTokens = r.completionTokens();
                    (r.finishReason() == FinishReason.CANCELLED ? this.cancelled : completed).incrementAndGet();
                    f.complete(r);
                } catch (Throwable t) {
                    log.error("request {} failed", req.id(), t);
                    f.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            if (worker.isShutdown()) throw GlimpseException.unavailable("shutting_down", "the server is shutting down");
            throw GlimpseException.overloaded("the request queue of model " + card.name() + " is full (" + queueCapacity
                    + " waiting); retry shortly");
        }
        return f;
    }

    @Override
    public void close() throws Exception {
        worker.shutdown();
        if (!worker.awaitTermination(60, TimeUnit.SECONDS)) {
            log.warn("in-flight requests did not finish within 60 s; stopping");
            worker.shutdownNow();
        }
        model.close();
    }
}
