package dev.glimpse.engine;

import dev.glimpse.card.ModelCard;
import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.image.KimiVlPreprocessor;
import dev.glimpse.image.KimiVlPreprocessorConfig;
import dev.glimpse.image.PixelPatches;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.KimiChatTemplate;
import dev.glimpse.text.TiktokenTokenizer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * One servable model: its tokenizer, template and preprocessor, an image worker pool (decode + preprocess + content hash,
 * off the engine thread), and the continuous-batching {@link Engine} over a {@link KimiVlRunner}. Owns every native resource
 * of the model; {@link #close()} drains in-flight requests first.
 */
public final class ServedModel implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ServedModel.class);

    /** Encoded image bytes and the JSON path that named them (for error messages). */
    public record ImageInput(byte[] bytes, String param) {}

    private final ModelCard card;
    private final TiktokenTokenizer tokenizer;
    private final KimiChatTemplate template;
    private final KimiVlPreprocessor preprocessor;
    private final ImageLimits imageLimits;
    private final KimiVlModel model;
    private final KimiVlRunner runner;
    private final VisionCache visionCache;
    private final Engine engine;
    private final ExecutorService imageWorkers;

    public ServedModel(ModelCard card, OrtRuntime runtime, Path graphCacheDir, EngineConfig engineConfig,
                       ImageLimits imageLimits, long visionCacheBytes, MeterRegistry metrics) {
        this.card = card;
        this.imageLimits = imageLimits;
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
        this.visionCache = new VisionCache(visionCacheBytes, metrics, card.name());
        this.runner = new KimiVlRunner(model, visionCache);
        this.engine = new Engine(card.name(), runner, tokenizer, stopIds, engineConfig, metrics).start();
        AtomicInteger n = new AtomicInteger();
        this.imageWorkers = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "glimpse-image-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        log.info("serving {} ({}, {} on {}), graphs in {}", card.name(), card.family(), card.graphDtype(), runtime.deviceName(), graphs);
    }

    /** A server-less instance with default limits (CLI commands, tests). */
    public static ServedModel standalone(ModelCard card, OrtRuntime runtime, Path graphCacheDir) {
        return new ServedModel(card, runtime, graphCacheDir, EngineConfig.defaults(), ImageLimits.DEFAULT, 256L << 20,
                new SimpleMeterRegistry());
    }

    public ModelCard card() { return card; }
    public TiktokenTokenizer tokenizer() { return tokenizer; }
    public Engine engine() { return engine; }
    public VisionCache visionCache() { return visionCache; }
    public long cacheBytesInUse() { return runner.cacheBytesInUse(); }
    public long cancelledCount() { return engine.cancelledCount(); }
    public int lastCompletionTokens() { return engine.lastCompletionTokens(); }

    private record ImageWork(PixelPatches patches, String key) {}

    /**
     * CPU work before admission, off the engine thread: decode, preprocess and hash every image (in parallel on the image
     * workers), render the chat template, check the context. Throws {@link GlimpseException} (4xx) for client errors.
     */
    public PreparedRequest prepare(List<ChatMessage> messages, List<ImageInput> images, SamplingParams params) {
        if (images.size() > card.maxImages()) {
            throw GlimpseException.invalid("too_many_images", "messages",
                    "this request has " + images.size() + " images; model " + card.name() + " accepts at most " + card.maxImages());
        }
        List<CompletableFuture<ImageWork>> work = new ArrayList<>(images.size());
        for (ImageInput in : images) {
            work.add(CompletableFuture.supplyAsync(() -> {
                try {
                    DecodedImage img = ImageDecoder.decode(in.bytes(), imageLimits);
                    return new ImageWork(preprocessor.process(img), ImageInputs.key(img, preprocessor.config()));
                } catch (GlimpseException e) {
                    throw new GlimpseException(e.status(), e.type(), e.code(), in.param(), e.getMessage(), e);
                }
            }, imageWorkers));
        }
        List<PixelPatches> patches = new ArrayList<>(images.size());
        List<String> keys = new ArrayList<>(images.size());
        List<Integer> counts = new ArrayList<>(images.size());
        for (CompletableFuture<ImageWork> f : work) {
            ImageWork w;
            try {
                w = f.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw e;
            }
            patches.add(w.patches());
            keys.add(w.key());
            counts.add(w.patches().tokens());
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
        return new PreparedRequest("chatcmpl-" + UUID.randomUUID().toString().replace("-", ""), prompt, patches, keys, clamped);
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

    @Override
    public void close() throws Exception {
        engine.shutdown(60, TimeUnit.SECONDS);
        imageWorkers.shutdownNow();
        runner.close();
        model.close();
    }
}
