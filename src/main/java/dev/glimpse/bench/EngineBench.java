package dev.glimpse.bench;

import dev.glimpse.card.ModelCard;
import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.runtime.BatchCache;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.runtime.KvCache;
import dev.glimpse.engine.EngineConfig;
import dev.glimpse.engine.GenerationResult;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.engine.TokenSink;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * In-process measurements through {@link ServedModel} (the serving path minus HTTP): decode speed at batch 1 and decode
 * cost against context length. Decode time is the engine's own inter-token latency timer (glimpse.inter.token.latency),
 * which runs from one sampled token to the next, so prefill (time to the first token) is excluded exactly and the
 * figure includes everything a decode step costs in the engine: embed, decoder graph, sampling, detokenizing.
 */
final class EngineBench implements AutoCloseable {

    static final String PROMPT_TEXT = "Describe every shape in this picture: its colour, its size and where it is.";

    /** Words for context-length prompts (any text works; these are ShapesWorld-like). */
    private static final String[] WORDS = ("red green blue yellow purple orange circle square triangle star small large "
            + "left right above below the a is of and next to inside picture image shape how many there what colour").split(" ");

    private final ServedModel model;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    /** The card with its stop tokens removed, so every request decodes exactly max_tokens tokens. */
    static ModelCard withoutStops(ModelCard c) {
        return new ModelCard(c.name(), c.family(), c.checkpoint(), c.graphDtype(), c.imageTokenLimit(), c.maxImages(),
                c.contextLength(), c.defaults(), c.imageDefaults(), List.of(), c.cardDir());
    }

    EngineBench(ModelCard card, OrtRuntime runtime, Path graphCache) {
        this.model = new ServedModel(withoutStops(card), dev.glimpse.family.Families::load, runtime, graphCache, EngineConfig.defaults(), ImageLimits.DEFAULT,
                256L << 20, registry);
    }

    ServedModel model() {
        return model;
    }

    static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 1, 0, maxTokens, null, List.of());
    }

    PreparedRequest imagePrompt(byte[] jpeg, int maxTokens) {
        List<ChatMessage> messages = List.of(new ChatMessage("user", List.of(new ImagePart(0), new TextPart(PROMPT_TEXT))));
        return model.prepare(messages, List.of(new ServedModel.ImageInput(jpeg, "image")), greedy(maxTokens));
    }

    /** One decode measurement: generated tokens after the first, and the seconds they took. */
    record Decode(int steps, double seconds, GenerationResult result) {
        double tokensPerSecond() {
            return steps / seconds;
        }

        double msPerToken() {
            return seconds * 1e3 / steps;
        }
    }

    /** Runs one request alone and reads how long its decode steps took from the engine's inter-token timer. */
    Decode run(PreparedRequest req) {
        Timer itl = registry.get("glimpse.inter.token.latency").timer();
        long n0 = itl.count();
        double t0 = itl.totalTime(TimeUnit.NANOSECONDS);
        GenerationResult r = model.submit(req, TokenSink.NONE, () -> false).join();
        int steps = (int) (itl.count() - n0);
        double ns = itl.totalTime(TimeUnit.NANOSECONDS) - t0;
        if (r.completionTokens() != req.params().maxTokens()) {
            throw new IllegalStateException("expected " + req.params().maxTokens() + " tokens, got " + r.completionTokens()
                    + " (" + r.finishReason() + ")");
        }
        if (steps != r.completionTokens() - 1) throw new IllegalStateException("timer saw " + steps + " steps");
        return new Decode(steps, ns / 1e9, r);
    }

    /** (a) decode tokens/s at batch 1 for the image prompt; one warm-up request first. */
    Decode[] decode(byte[] jpeg, int maxTokens, int runs) {
        run(imagePrompt(jpeg, maxTokens)); // warm-up: vision encoder, JIT, ORT allocations
        Decode[] out = new Decode[runs];
        for (int i = 0; i < runs; i++) out[i] = run(imagePrompt(jpeg, maxTokens));
        return out;
    }

    /** Prompt ids of exactly {@code length} tokens of plain text (no template, no image). */
    int[] textIds(int length) {
        Random rnd = new Random(7);
        StringBuilder sb = new StringBuilder();
        int[] ids = new int[0];
        while (ids.length < length) {
            for (int i = 0; i < 200; i++) sb.append(WORDS[rnd.nextInt(WORDS.length)]).append(i % 12 == 11 ? ". " : " ");
            ids = ((dev.glimpse.family.kimivl.KimiVlFamily) model.family()).tokenizer().encode(sb.toString());
        }
        return Arrays.copyOf(ids, length);
    }

    PreparedRequest textPrompt(int length, int maxTokens) {
        long[] ids = Arrays.stream(textIds(length)).asLongStream().toArray();
        return new PreparedRequest("bench-ctx-" + length, ids, List.of(), greedy(maxTokens));
    }

    /** (f) ms per decode step at each context length; contexts are interleaved within a run so drift hits all alike. */
    double[][] contextSweep(int[] contexts, int decodeTokens, int runs) {
        run(textPrompt(contexts[contexts.length - 1], decodeTokens + 1)); // warm-up at the longest context
        double[][] ms = new double[contexts.length][runs];
        for (int r = 0; r < runs; r++) {
            for (int c = 0; c < contexts.length; c++) ms[c][r] = run(textPrompt(contexts[c], decodeTokens + 1)).msPerToken();
        }
        return ms;
    }

    /**
     * (extra) Raw decoder step time against batch size, below the scheduler: one prompt of {@code context} tokens is
     * prefilled once and copied into B rows of a batch cache, then {@code steps} batched steps (embed + decoder graph +
     * logits copy, no sampling) are timed. Batch sizes are interleaved within a run.
     *
     * @return [batch index][run] ms per step
     */
    static double[][] batchSweep(ModelCard card, OrtRuntime runtime, Path graphCache, int[] batches, int context, int steps,
                                 int runs, int[] promptIds) throws Exception {
        KimiVlConfig config = KimiVlConfig.load(card.checkpoint());
        try (KimiVlModel m = new KimiVlModel(runtime, config, KimiVlConverter.cached(card.checkpoint(), graphCache, card.graphDtype()));
             KvCache prompt = m.newCache()) {
            long[] ids = Arrays.stream(promptIds).asLongStream().limit(context).toArray();
            m.step(prompt, m.embed(ids), ids.length, 1);
            double[][] ms = new double[batches.length][runs];
            for (int r = -1; r < runs; r++) { // r = -1 warms up every shape
                for (int b = 0; b < batches.length; b++) {
                    try (BatchCache cache = m.newBatchCache()) {
                        for (int i = 0; i < batches[b]; i++) cache.join(prompt);
                        long[] last = new long[batches[b]];
                        Arrays.fill(last, ids[ids.length - 1]);
                        m.decodeBatch(cache, m.embedLastTokens(last));
                        long t0 = System.nanoTime();
                        for (int s = 0; s < steps; s++) m.decodeBatch(cache, m.embedLastTokens(last));
                        if (r >= 0) ms[b][r] = (System.nanoTime() - t0) / 1e6 / steps;
                    }
                }
            }
            return ms;
        }
    }

    @Override
    public void close() throws Exception {
        model.close();
    }
}
