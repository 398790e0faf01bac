package dev.glimpse.engine;

import dev.glimpse.text.IncrementalDetokenizer;
import dev.glimpse.text.TokenBytes;

import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * Engine-side state of one request. Owned by the engine thread; other threads only read {@link #future()} and set the
 * cancel flag through the supplier they passed in.
 */
public final class Sequence {

    public enum State { WAITING, PREFILL, RUNNING, FINISHED }

    final PreparedRequest request;
    final TokenSink sink;
    final BooleanSupplier cancelled;
    final CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    final Sampler sampler;
    final IncrementalDetokenizer detok;
    final StopStringMatcher stops;
    final long arrivalNanos = System.nanoTime();
    final long deadlineNanos;

    State state = State.WAITING;
    /** Prompt positions already in the cache. */
    int prefilled;
    int generated;
    /** Generated ids, [0, generated). */
    private int[] ids = new int[16];
    int lastToken = -1;
    long reservedBytes;
    long firstTokenNanos;
    long lastTokenNanos;
    long visionNanos;
    /** Runner-owned per-sequence data (prompt embeddings, private prefill cache). */
    Object runnerState;

    /** A batch or caption-job item: admitted after every waiting interactive request. */
    boolean background;

    Sequence(PreparedRequest request, TokenSink sink, BooleanSupplier cancelled, TokenBytes tokenizer, long deadlineNanos) {
        this.request = request;
        this.sink = sink;
        this.cancelled = cancelled;
        this.sampler = new Sampler(request.params());
        this.detok = tokenizer == null ? null : new IncrementalDetokenizer(tokenizer);
        this.stops = new StopStringMatcher(request.params().stop());
        this.deadlineNanos = deadlineNanos;
    }

    /** The request's constraint applied to (a private copy of) this position's logits, then its sampler. */
    int sample(float[] logits) {
        request.constraint().apply(logits, generated);
        return sampler.sample(logits);
    }

    /** Counts a sampled token and keeps its id. */
    void record(int token) {
        if (generated == ids.length) ids = java.util.Arrays.copyOf(ids, ids.length * 2);
        ids[generated++] = token;
    }

    int[] tokenIds() {
        return java.util.Arrays.copyOf(ids, generated);
    }

    public PreparedRequest request() { return request; }
    public int promptLength() { return request.promptIds().length; }
    public int lastToken() { return lastToken; }
    public int generated() { return generated; }
    public State state() { return state; }
    public CompletableFuture<GenerationResult> future() { return future; }
    public Object runnerState() { return runnerState; }
    public void runnerState(Object o) { runnerState = o; }
    /** Tokens this sequence will hold in cache at most: the prompt plus max_tokens. */
    public int maxLength() { return promptLength() + request.params().maxTokens(); }
}
