package dev.glimpse.engine;

import java.util.List;

/**
 * What the scheduler needs from a model. Each family's runner ({@link ModelFamily#runner()}) runs its ONNX graphs; tests
 * use a fake one. All calls come from the engine thread.
 */
public interface ModelRunner {

    /** Bytes of KV cache one token costs across all layers. */
    long bytesPerToken();

    /**
     * Prepares prompt inputs for newly admitted sequences: the images not in the vision cache go through the family's image
     * encoder, all of them in one call (Kimi-VL: vision tower, features merged into the token embeddings; Chameleon: VQ-GAN
     * encoder, codes written into the prompt as tokens). Called once per sequence before its first prefill.
     */
    void prepare(List<Sequence> admitted);

    /**
     * Runs prompt positions [from, to) of one sequence through its private cache.
     *
     * @return logits (vocab) of position to-1 when {@code to} is the prompt length, else null
     */
    float[] prefill(Sequence s, int from, int to);

    /** Moves a sequence whose prompt is fully prefilled into the decode batch. */
    void join(Sequence s);

    /** Drops sequences from the decode batch (finished, cancelled, failed) and frees their cache. */
    void leave(List<Sequence> gone);

    /**
     * One decode step for every sequence in the batch: each is fed its {@link Sequence#lastToken()}.
     *
     * @return logits per sequence, in the order of {@code batch}
     */
    float[][] decode(List<Sequence> batch);

    /** Bytes held by KV caches now (batch cache, including padding, plus prefill caches). */
    long cacheBytesInUse();
}
