package dev.glimpse.engine;

import java.time.Duration;

/**
 * Limits of the continuous-batching engine.
 *
 * @param maxNumSeqs       sequences in flight (prefilling + decoding) at once
 * @param maxBatchedTokens tokens one scheduler step may process: one per decoding sequence plus prefill chunks
 * @param queueCapacity    requests waiting for admission before new ones are refused with 429
 * @param kvCacheBytes     KV-cache budget; a request is admitted only when its prompt + max_tokens fit
 * @param requestTimeout   per-request deadline from arrival; past it the request ends with an error
 */
public record EngineConfig(int maxNumSeqs, int maxBatchedTokens, int queueCapacity, long kvCacheBytes, Duration requestTimeout) {
    public EngineConfig {
        if (maxNumSeqs <= 0) throw new IllegalArgumentException("glimpse.engine.max-num-seqs must be > 0");
        if (maxBatchedTokens <= maxNumSeqs) {
            throw new IllegalArgumentException("glimpse.engine.max-batched-tokens must exceed max-num-seqs (one decode token each)");
        }
        if (queueCapacity <= 0) throw new IllegalArgumentException("glimpse.limits.queue-capacity must be > 0");
        if (kvCacheBytes <= 0) throw new IllegalArgumentException("glimpse.engine.kv-cache-bytes must be > 0");
    }

    public static EngineConfig defaults() {
        return new EngineConfig(16, 2048, 64, 512L << 20, Duration.ofMinutes(5));
    }
}
