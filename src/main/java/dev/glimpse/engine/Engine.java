package dev.glimpse.engine;

import dev.glimpse.error.GlimpseException;
import dev.glimpse.text.TokenBytes;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Continuous-batching engine (iteration-level scheduling, as in Orca / vLLM). Each {@link #step()}:
 * <ol>
 *   <li>ends sequences whose client left, or whose deadline passed, and frees their cache;</li>
 *   <li>admits waiting requests in FIFO order while sequences < max-num-seqs and their prompt + max_tokens fit the KV budget,
 *       interactive requests before background ones (batch and caption-job items), which have their own queue;</li>
 *   <li>prefills admitted prompts in chunks under the step's token budget (max-batched-tokens minus one per decoding
 *       sequence), so a long prompt never stalls the decoding ones for more than one chunk;</li>
 *   <li>runs one batched decoder step for every decoding sequence and samples each;</li>
 *   <li>moves the sequences whose prompt finished in this step into the decode batch (they decode from the next step).</li>
 * </ol>
 * Requests join and leave the batch only at step boundaries. One engine thread calls the runner; HTTP threads only submit
 * and read futures. A full admission queue refuses at once (429).
 */
public final class Engine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    private final ModelRunner runner;
    private final TokenBytes tokenizer;
    private final Set<Integer> stopTokenIds;
    private final EngineConfig config;
    private final String name;

    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicInteger waitingCount = new AtomicInteger();
    private final AtomicInteger backgroundCount = new AtomicInteger();
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Background work (job items): admitted only when no interactive request waits; its own queue capacity. */
    private final ArrayDeque<Sequence> waitingBackground = new ArrayDeque<>();
    private final List<Sequence> prefilling = new ArrayList<>();
    private final List<Sequence> running = new ArrayList<>();
    private long reservedBytes;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private volatile boolean accepting = true;
    private volatile boolean stopped;
    /** Set by the engine thread just before it returns; from then on nothing else polls the inbox. */
    private volatile boolean exited;
    private Thread thread;

    // metrics
    private final Timer ttft, itl, e2e;
    private final Counter generatedTokens, finishedRequests, cancelledRequests, failedRequests;
    private final DistributionSummary batchSize;
    private final AtomicInteger runningGauge = new AtomicInteger();
    private final AtomicLong cancelledTotal = new AtomicLong();
    private volatile int lastCompletionTokens;

    public Engine(String name, ModelRunner runner, TokenBytes tokenizer, Set<Integer> stopTokenIds, EngineConfig config,
                  MeterRegistry metrics) {
        this.name = name;
        this.runner = runner;
        this.tokenizer = tokenizer;
        this.stopTokenIds = Set.copyOf(stopTokenIds);
        this.config = config;
        String[] tags = {"model", name};
        this.ttft = Timer.builder("glimpse.time.to.first.token").tags(tags).publishPercentileHistogram().register(metrics);
        this.itl = Timer.builder("glimpse.inter.token.latency").tags(tags).publishPercentileHistogram().register(metrics);
        this.e2e = Timer.builder("glimpse.request.latency").tags(tags).publishPercentileHistogram().register(metrics);
        this.generatedTokens = Counter.builder("glimpse.generated.tokens").tags(tags).register(metrics);
        this.finishedRequests = Counter.builder("glimpse.requests").tags(tags).tag("outcome", "finished").register(metrics);
        this.cancelledRequests = Counter.builder("glimpse.requests").tags(tags).tag("outcome", "cancelled").register(metrics);
        this.failedRequests = Counter.builder("glimpse.requests").tags(tags).tag("outcome", "failed").register(metrics);
        this.batchSize = DistributionSummary.builder("glimpse.decode.batch.size").tags(tags).register(metrics);
        Gauge.builder("glimpse.queue.depth", waitingCount, AtomicInteger::get).tags(tags).register(metrics);
        Gauge.builder("glimpse.queue.background.depth", backgroundCount, AtomicInteger::get).tags(tags).register(metrics);
        Gauge.builder("glimpse.running.sequences", runningGauge, AtomicInteger::get).tags(tags).register(metrics);
        Gauge.builder("glimpse.kv.cache.bytes", runner, ModelRunner::cacheBytesInUse).tags(tags).register(metrics);
        Gauge.builder("glimpse.kv.cache.reserved.bytes", this, e -> e.reservedBytes).tags(tags).register(metrics);
    }

    /** Starts the engine thread (tests may instead drive {@link #step()} themselves). */
    public Engine start() {
        thread = new Thread(this::loop, "glimpse-engine-" + name);
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    public EngineConfig config() {
        return config;
    }

    /** Queues an interactive request; the future completes when it ends. 429 at once when the queue is full, 503 when closing. */
    public CompletableFuture<GenerationResult> submit(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled) {
        return submit(req, sink, cancelled, Priority.INTERACTIVE);
    }

    /**
     * Queues a request of the given priority. Background requests wait in their own queue (same capacity, so a job
     * cannot fill the interactive one) and are admitted only when no interactive request is waiting.
     */
    public CompletableFuture<GenerationResult> submit(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled,
                                                      Priority priority) {
        if (!accepting) throw GlimpseException.unavailable("shutting_down", "the server is shutting down");
        long need = (long) (req.promptIds().length + req.params().maxTokens()) * runner.bytesPerToken();
        if (need > config.kvCacheBytes()) {
            throw GlimpseException.invalid("context_length_exceeded", "max_tokens", "prompt + max_tokens needs " + need
                    + " bytes of KV cache; this server's budget is " + config.kvCacheBytes() + " bytes: lower max_tokens");
        }
        AtomicInteger count = priority == Priority.BACKGROUND ? backgroundCount : waitingCount;
        if (count.incrementAndGet() > config.queueCapacity()) {
            count.decrementAndGet();
            throw GlimpseException.overloaded("the " + (priority == Priority.BACKGROUND ? "background " : "") + "request queue of model "
                    + name + " is full (" + config.queueCapacity() + " waiting); retry shortly");
        }
        long deadline = System.nanoTime() + config.requestTimeout().toNanos();
        Sequence s = new Sequence(req, sink, cancelled, tokenizer, deadline);
        s.background = priority == Priority.BACKGROUND;
        inbox.add(s);
        signal();
        // A submit that raced past the accepting check while the engine thread was exiting: nobody will poll the inbox
        // again, so answer with a clear 503 rather than leave the future pending forever.
        if (exited) failInbox();
        return s.future;
    }

    private void failInbox() {
        for (Sequence s; (s = inbox.poll()) != null; ) {
            dequeued(s);
            fail(s, GlimpseException.unavailable("shutting_down", "the server is shutting down"));
        }
    }

    /** Requests waiting for admission, interactive and background. */
    public int queueDepth() {
        return waitingCount.get() + backgroundCount.get();
    }

    private void dequeued(Sequence s) {
        (s.background ? backgroundCount : waitingCount).decrementAndGet();
    }

    public int runningCount() {
        return runningGauge.get();
    }

    public long cancelledCount() {
        return cancelledTotal.get();
    }

    public int lastCompletionTokens() {
        return lastCompletionTokens;
    }

    private void signal() {
        lock.lock();
        try {
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        try {
            schedule();
        } finally {
            exited = true;
            failInbox(); // a submit that added its request after the last look at the inbox
        }
    }

    private void schedule() {
        while (true) {
            boolean busy;
            try {
                busy = step();
            } catch (Throwable t) {
                log.error("engine step failed", t);
                busy = true;
                try {
                    Thread.sleep(10); // a step that fails every time must not spin a core
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (!busy) {
                if (stopped && inbox.isEmpty()) return;
                lock.lock();
                try {
                    if (inbox.isEmpty() && !stopped) work.await(50, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** One scheduler iteration; returns false when there was nothing to do. */
    boolean step() {
        for (Sequence s; (s = inbox.poll()) != null; ) (s.background ? waitingBackground : waiting).add(s);
        reap();
        List<Sequence> admitted = admit();
        if (!admitted.isEmpty()) {
            long t0 = System.nanoTime();
            try {
                runner.prepare(admitted);
            } catch (RuntimeException e) {
                log.error("preparing {} admitted requests failed", admitted.size(), e);
                for (Sequence s : admitted) fail(s, e);
                prefilling.removeAll(admitted);
                release(admitted); // give back their KV reservation and whatever the runner set up for them
            }
            long dt = System.nanoTime() - t0;
            for (Sequence s : admitted) s.visionNanos = dt;
        }
        List<Sequence> prefilled = new ArrayList<>();
        boolean didPrefill = prefill(prefilled);
        boolean didDecode = decode();
        // Sequences whose prompt finished in this step join the decode batch only now, at the step boundary: decoding them
        // in this step too would process more than max-batched-tokens (the prefill budget only reserved one token per
        // sequence that was already decoding).
        join(prefilled);
        runningGauge.set(prefilling.size() + running.size());
        return !admitted.isEmpty() || didPrefill || didDecode || !waiting.isEmpty() || !waitingBackground.isEmpty();
    }

    /** Ends sequences whose client left or whose deadline passed; a waiting one never reaches the model. */
    private void reap() {
        long now = System.nanoTime();
        for (ArrayDeque<Sequence> queue : List.of(waiting, waitingBackground)) {
            for (Iterator<Sequence> it = queue.iterator(); it.hasNext(); ) {
                Sequence s = it.next();
                if (s.cancelled.getAsBoolean() || now > s.deadlineNanos) {
                    it.remove();
                    dequeued(s);
                    if (now > s.deadlineNanos) fail(s, deadline(s));
                    else complete(s, FinishReason.CANCELLED);
                }
            }
        }
        List<Sequence> gone = new ArrayList<>();
        for (List<Sequence> list : List.of(prefilling, running)) {
            for (Iterator<Sequence> it = list.iterator(); it.hasNext(); ) {
                Sequence s = it.next();
                if (s.cancelled.getAsBoolean()) {
                    complete(s, FinishReason.CANCELLED);
                } else if (now > s.deadlineNanos) {
                    fail(s, deadline(s));
                } else {
                    continue;
                }
                it.remove();
                gone.add(s);
            }
        }
        release(gone);
    }

    private static GlimpseException deadline(Sequence s) {
        return new GlimpseException(504, "server_error", "request_timeout", null,
                "request " + s.request.id() + " did not finish within the server's deadline", null);
    }

    private List<Sequence> admit() {
        List<Sequence> admitted = new ArrayList<>();
        while (prefilling.size() + running.size() < config.maxNumSeqs()) {
            // Interactive first; a background request only when no interactive one waits.
            ArrayDeque<Sequence> queue = !waiting.isEmpty() ? waiting : waitingBackground;
            Sequence s = queue.peek();
            if (s == null) break;
            long need = (long) s.maxLength() * runner.bytesPerToken();
            if (reservedBytes + need > config.kvCacheBytes()) break; // FIFO: the head waits, nobody overtakes it
            queue.poll();
            dequeued(s);
            s.reservedBytes = need;
            reservedBytes += need;
            s.state = Sequence.State.PREFILL;
            prefilling.add(s);
            admitted.add(s);
        }
        return admitted;
    }

    /** Runs this step's prefill chunks; sequences whose prompt is done (and that did not finish at once) go to {@code joined}. */
    private boolean prefill(List<Sequence> joined) {
        int budget = config.maxBatchedTokens() - running.size();
        boolean did = false;
        List<Sequence> gone = new ArrayList<>();
        for (Sequence s : prefilling) {
            if (budget <= 0) break;
            int chunk = Math.min(s.promptLength() - s.prefilled, budget);
            float[] logits;
            try {
                logits = runner.prefill(s, s.prefilled, s.prefilled + chunk);
            } catch (RuntimeException e) {
                fail(s, e);
                gone.add(s);
                continue;
            }
            did = true;
            s.prefilled += chunk;
            budget -= chunk;
            if (logits != null) {
                if (accept(s, s.sample(logits))) {
                    gone.add(s);
                } else {
                    joined.add(s);
                }
            }
        }
        prefilling.removeAll(gone);
        prefilling.removeAll(joined);
        release(gone);
        return did;
    }

    /** Moves fully prefilled sequences into the decode batch; one the runner cannot take fails alone. */
    private void join(List<Sequence> joined) {
        for (Sequence s : joined) {
            try {
                runner.join(s);
            } catch (RuntimeException e) {
                fail(s, e);
                release(List.of(s));
                continue;
            }
            s.state = Sequence.State.RUNNING;
            running.add(s);
        }
    }

    private boolean decode() {
        if (running.isEmpty()) return false;
        batchSize.record(running.size());
        float[][] logits;
        try {
            logits = runner.decode(running);
        } catch (RuntimeException e) {
            log.error("decode step failed for {} sequences", running.size(), e);
            List<Sequence> all = new ArrayList<>(running);
            for (Sequence s : all) fail(s, e);
            running.clear();
            release(all);
            return true;
        }
        List<Sequence> gone = new ArrayList<>();
        for (int i = 0; i < running.size(); i++) {
            Sequence s = running.get(i);
            if (accept(s, s.sample(logits[i]))) gone.add(s);
        }
        running.removeAll(gone);
        release(gone);
        return true;
    }

    /** Applies one sampled token; returns true when the sequence has finished. */
    private boolean accept(Sequence s, int token) {
        long now = System.nanoTime();
        s.record(token);
        generatedTokens.increment();
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = now;
            ttft.record(now - s.arrivalNanos, TimeUnit.NANOSECONDS);
        } else {
            itl.record(now - s.lastTokenNanos, TimeUnit.NANOSECONDS);
        }
        s.lastTokenNanos = now;
        if (stopTokenIds.contains(token)) {
            complete(s, FinishReason.STOP);
            return true;
        }
        String out = s.stops.push(s.detok == null ? "" : s.detok.push(token));
        if (!out.isEmpty() && !s.sink.onText(out)) {
            complete(s, FinishReason.CANCELLED);
            return true;
        }
        if (s.stops.stopped()) {
            complete(s, FinishReason.STOP);
            return true;
        }
        if (s.generated >= s.request.params().maxTokens()) {
            complete(s, FinishReason.LENGTH);
            return true;
        }
        s.lastToken = token;
        return false;
    }

    private void complete(Sequence s, FinishReason reason) {
        if (reason != FinishReason.CANCELLED && !s.stops.stopped() && s.detok != null) {
            String tail = s.stops.push(s.detok.flush()) + s.stops.finish();
            if (!tail.isEmpty()) s.sink.onText(tail);
        }
        s.state = Sequence.State.FINISHED;
        long now = System.nanoTime();
        e2e.record(now - s.arrivalNanos, TimeUnit.NANOSECONDS);
        (reason == FinishReason.CANCELLED ? cancelledRequests : finishedRequests).increment();
        if (reason == FinishReason.CANCELLED) cancelledTotal.incrementAndGet();
        lastCompletionTokens = s.generated;
        long firstOrNow = s.firstTokenNanos == 0 ? now : s.firstTokenNanos;
        s.future.complete(new GenerationResult(s.stops.text(), reason, s.promptLength(), s.generated,
                s.visionNanos / 1_000_000, (firstOrNow - s.arrivalNanos) / 1_000_000, (now - firstOrNow) / 1_000_000,
                s.tokenIds()));
    }

    private void fail(Sequence s, Throwable t) {
        s.state = Sequence.State.FINISHED;
        failedRequests.increment();
        s.future.completeExceptionally(t);
    }

    /** Frees the cache and the KV reservation of sequences that left the prefill or decode sets. */
    private void release(List<Sequence> gone) {
        if (gone.isEmpty()) return;
        for (Sequence s : gone) {
            reservedBytes -= s.reservedBytes;
            s.reservedBytes = 0;
        }
        try {
            runner.leave(gone);
        } catch (RuntimeException e) {
            log.error("freeing {} sequences failed", gone.size(), e);
        }
    }

    /** Stops admitting new requests, lets queued and running ones finish (up to {@code timeout}), then stops the thread. */
    public void shutdown(long timeout, TimeUnit unit) throws InterruptedException {
        accepting = false;
        stopped = true;
        signal();
        if (thread != null) {
            thread.join(unit.toMillis(timeout));
            if (thread.isAlive()) log.warn("engine {} did not drain within {} {}", name, timeout, unit);
        }
    }

    @Override
    public void close() throws InterruptedException {
        shutdown(60, TimeUnit.SECONDS);
    }
}
