package dev.glimpse.engine;

import dev.glimpse.error.GlimpseException;
import dev.glimpse.text.TiktokenTokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Builds an {@link Engine} over a {@link FakeRunner} and drives {@link Engine#step()} with numbered steps. */
final class EngineHarness {

    final FakeRunner fake = new FakeRunner();
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final Engine engine;
    final Map<String, CompletableFuture<GenerationResult>> futures = new HashMap<>();
    int stepNo;

    EngineHarness(int maxNumSeqs, int maxBatchedTokens, int queueCapacity, long kvCacheBytes, Duration timeout) {
        this(new EngineConfig(maxNumSeqs, maxBatchedTokens, queueCapacity, kvCacheBytes, timeout), null);
    }

    EngineHarness(EngineConfig config, TiktokenTokenizer tokenizer) {
        this.engine = new Engine("fake", fake, tokenizer, Set.of(FakeRunner.STOP), config, registry);
    }

    static EngineHarness of(int maxNumSeqs, int maxBatchedTokens) {
        return new EngineHarness(maxNumSeqs, maxBatchedTokens, 64, 1L << 40, Duration.ofMinutes(5));
    }

    /** A text-free request: prompt {@code promptLen} ids starting with {@code firstId} (which picks the fake's tokens). */
    static PreparedRequest request(String id, int promptLen, int maxTokens, long firstId) {
        return request(id, promptLen, new SamplingParams(0, 1, 0, maxTokens, null, List.of()), firstId);
    }

    static PreparedRequest request(String id, int promptLen, SamplingParams params, long firstId) {
        long[] prompt = new long[promptLen];
        prompt[0] = firstId;
        for (int i = 1; i < promptLen; i++) prompt[i] = 1000 + i;
        return new PreparedRequest(id, prompt, List.of(), params);
    }

    static PreparedRequest request(String id, int promptLen, int maxTokens) {
        return request(id, promptLen, maxTokens, id.charAt(0));
    }

    CompletableFuture<GenerationResult> submit(String id, int promptLen, int maxTokens) {
        return submit(request(id, promptLen, maxTokens), TokenSink.NONE, () -> false);
    }

    CompletableFuture<GenerationResult> submit(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled) {
        CompletableFuture<GenerationResult> f = engine.submit(req, sink, cancelled);
        futures.put(req.id(), f);
        return f;
    }

    CompletableFuture<GenerationResult> submitBackground(String id, int promptLen, int maxTokens) {
        CompletableFuture<GenerationResult> f = engine.submit(request(id, promptLen, maxTokens), TokenSink.NONE, () -> false,
                Priority.BACKGROUND);
        futures.put(id, f);
        return f;
    }

    /** One numbered scheduler step; the fake tags what it records with the number. */
    boolean step() {
        fake.step = ++stepNo;
        return engine.step();
    }

    /** Steps until the engine reports nothing to do; fails if that takes more than {@code maxSteps}. */
    int runUntilIdle(int maxSteps) {
        int n = 0;
        while (step()) {
            if (++n > maxSteps) throw new AssertionError("engine still busy after " + maxSteps + " steps");
        }
        return n;
    }

    GenerationResult result(String id) {
        CompletableFuture<GenerationResult> f = futures.get(id);
        assertThat(f).as("future of %s", id).isCompleted();
        return f.join();
    }

    /** The cause a failed future completed with. */
    Throwable failure(String id) {
        CompletableFuture<GenerationResult> f = futures.get(id);
        assertThat(f).as("future of %s", id).isCompletedExceptionally();
        Throwable t = catchThrowable(f::join);
        return t instanceof CompletionException ? t.getCause() : t;
    }

    static GlimpseException glimpse(Throwable t) {
        assertThat(t).isInstanceOf(GlimpseException.class);
        return (GlimpseException) t;
    }

    double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    /** Asserts that no step processed more than {@code maxBatchedTokens} tokens (prefill chunks plus one per decode row). */
    void assertTokenBudget(int maxBatchedTokens) {
        Map<Integer, Integer> perStep = new HashMap<>();
        synchronized (fake.prefills) {
            for (FakeRunner.Prefill p : fake.prefills) perStep.merge(p.step(), p.to() - p.from(), Integer::sum);
        }
        synchronized (fake.decodes) {
            for (FakeRunner.Decode d : fake.decodes) perStep.merge(d.step(), d.ids().size(), Integer::sum);
        }
        perStep.forEach((step, tokens) ->
                assertThat(tokens).as("tokens processed in step %d", step).isLessThanOrEqualTo(maxBatchedTokens));
    }

    /** The fixture tokenizer of the text tests: ids 0..93 are the printable ASCII bytes '!'..'~'. */
    static TiktokenTokenizer fixtureTokenizer() {
        try {
            Path dir = Path.of(EngineHarness.class.getResource("/text/tiktoken.model").toURI()).getParent();
            return TiktokenTokenizer.load(dir.resolve("tiktoken.model"), dir.resolve("tokenizer_config.json"));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
